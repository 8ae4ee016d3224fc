"""An ApiClient of the official ``kubernetes`` client, from a kubeconfig or the pod's service account.
https://github.com/kubernetes-client/python"""

from __future__ import annotations

from typing import Any, cast

import yaml
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from policies.kube.errors import SyncError

__all__ = ["api_client", "kubeconfig_contexts", "kubeconfig_summary"]


def api_client(*, kubeconfig: str | None, context: str = "") -> client.ApiClient:
    """A client for the kubeconfig's ``context`` (its current context when empty), or for the
    in-cluster service account when ``kubeconfig`` is None. Raises SyncError when it cannot be built."""
    configuration = client.Configuration()
    try:
        if kubeconfig is None:
            cast(Any, config.load_incluster_config)(client_configuration=configuration)
        else:
            cast(Any, config.load_kube_config_from_dict)(
                _load(kubeconfig), context=context or None, client_configuration=configuration, persist_config=False
            )
    except ConfigException as exc:
        where = "the in-cluster service account" if kubeconfig is None else "the kubeconfig"
        raise SyncError(f"cannot use {where}: {exc}") from exc
    # No silent retries inside one sync: a failed sync is recorded and the next one retries with backoff.
    configuration.retries = False
    return client.ApiClient(configuration)


def kubeconfig_contexts(text: str) -> list[str]:
    """The context names of a kubeconfig; SyncError when it is not one."""
    data = _load(text)
    contexts = data.get("contexts") or []
    names = [str(c["name"]) for c in contexts if isinstance(c, dict) and isinstance(c.get("name"), str)]
    if not names:
        raise SyncError("the kubeconfig has no contexts")
    return names


def kubeconfig_summary(text: str, context: str = "") -> dict[str, str]:
    """What may be shown of a kubeconfig once stored: the context, its cluster's server and the user's
    name; never a token, key or certificate."""
    data = _load(text)
    name = context or str(data.get("current-context") or "")
    entry = _named(data.get("contexts"), name).get("context") or {}
    cluster = _named(data.get("clusters"), str(entry.get("cluster") or "")).get("cluster") or {}
    return {"context": name, "server": str(cluster.get("server") or ""), "user": str(entry.get("user") or "")}


def _named(items: Any, name: str) -> dict[str, Any]:
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return {}


def _load(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SyncError(f"the kubeconfig is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or "clusters" not in data:
        raise SyncError("this is not a kubeconfig: it has no clusters")
    return data
