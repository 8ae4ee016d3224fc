"""A snapshot's explainer (engine.Explainer: its parsed cluster and the index of its pods,
workloads and addresses), stored with its analysis so that a web process answers its first
explanation of a snapshot after reading it back (0.15 s of CPU at 5,000 pods) instead of parsing
the snapshot's manifests (about 2 s of CPU; docs/benchmarks.md).

The part holds a pickle, read back only from this application's own database and only when it
carries this site's signature (a key derived from SECRET_KEY) and this engine's code fingerprint;
the reader builds nothing but engine classes (engine/stored_state.py). When any of that does not
hold (an analysis stored before this part existed, another SECRET_KEY, another version of the
engine), the caller parses the snapshot as before.
"""

from __future__ import annotations

import hashlib
import logging
import pickle

from django.conf import settings

from policies import engine
from policies.models import AnalysisPart, Snapshot

__all__ = ["EXPLAINER_PART", "explainer_parts", "stored_explainer"]

logger = logging.getLogger(__name__)

EXPLAINER_PART = "explainer"


def _key() -> bytes:
    return hashlib.sha256(b"netpol stored explainer\0" + str(settings.SECRET_KEY).encode()).digest()


def explainer_parts(cluster: engine.Cluster) -> dict[str, bytes]:
    """The part an analysis stores under EXPLAINER_PART: the explainer of ``cluster``, signed; none
    when it cannot be written (explanations then parse the snapshot: never a failed analysis)."""
    try:
        data: bytes = engine.Explainer(cluster).to_bytes(key=_key())
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as exc:
        logger.warning("the explainer is not stored (%s: %s); explanations will parse the snapshot",
                       type(exc).__name__, exc)
        return {}
    return {EXPLAINER_PART: data}


def stored_explainer(snapshot: Snapshot) -> engine.Explainer | None:
    """The explainer stored with the snapshot's latest finished analysis; None when there is none
    or it cannot be used here (then parse the snapshot)."""
    analysis = snapshot.analyses.done().values_list("id", flat=True).first()
    if analysis is None:
        return None
    data = AnalysisPart.objects.filter(analysis_id=analysis, key=EXPLAINER_PART).values_list("blob", flat=True).first()
    if data is None:
        return None  # an analysis stored before explainers were
    try:
        explainer: engine.Explainer = engine.Explainer.from_bytes(bytes(data), key=_key())
    except ValueError as exc:  # StateMismatch: another engine version or SECRET_KEY
        logger.info("snapshot %s: stored explainer not used (%s); parsing the snapshot", snapshot.id, exc)
        return None
    return explainer
