"""The only layer that talks to both the ORM and the engine, split by the noun it acts on.

Views, the API and tasks call these keyword-only functions through this front
(``services.create_snapshot(...)``). Bad input raises ``PolicyError`` (the API answers 400 with
its message); asking for results of an analysis that has not finished raises
``AnalysisNotReady`` (409).

- ``manifests``: uploaded files decoded, checked at once (syntax) and parsed (once per snapshot, cached);
- ``snapshots``: storing an upload; ``objects``: a snapshot's objects as Resource rows (an
  upload's are stored by its analysis); ``drafts``: the files of a failed upload page, kept for
  the next try; ``demo``: the demo snapshots;
- ``analyses``: queueing and running the engine over a snapshot; ``recovery``: the sweep that
  queues again the analyses a killed worker or a broker outage left behind;
- ``answers``: graphs, explanations, diffs and pods read from a finished analysis;
  ``change_graphs``: a proposal's graph with the edges its change opens and closes;
  ``stored_graphs`` and ``graph_slices``: the graphs as an analysis stores them, and a
  namespace's slice of them;
- ``policies``: a snapshot's policies; ``placements``: where Calico runs them;
- ``clusters``: cluster connections and their syncs; ``history``: each sync compared with the one before.
- ``expectations``: a team's reachability assertions; ``rechecks``: their stored results checked
  again when they change; ``proposals``: changes under review, their revisions and their analysis;
  ``webhooks``: the signed event sent when a proposal changes state.
"""

from policies.engine import PolicyError
from policies.services.analyses import (
    ANALYSIS_RUNNERS,
    ProgressWriter,
    finished_analysis,
    publish,
    resume_analysis,
    run_analysis,
    start_analysis,
    wait_for_analyses,
)
from policies.services.answers import (
    EVALUATORS,
    GRAPH_LEVELS,
    connections_text,
    diff_snapshots,
    explain_flow,
    get_graph,
    get_pod,
    graph_json_chunks,
    list_pods,
    render_graph,
)
from policies.services.change_graphs import CHANGE_GRAPH_LEVELS, change_graph, proposal_graph
from policies.services.clusters import (
    InvalidConnection,
    SyncFailed,
    SyncInProgress,
    SyncOutcome,
    add_cluster,
    queue_sync,
    start_due_syncs,
    sync_cluster,
)
from policies.services.demo import DEMO_DIR, DEMOS, demo_files, load_demo
from policies.services.drafts import KeptFile, drop_draft, keep_files, kept_files
from policies.services.errors import AnalysisNotReady, InvalidTransition, QueueUnavailable
from policies.services.expectations import (
    check_team_expectations,
    compare_checks,
    delete_expectation,
    import_expectations,
    save_expectation,
)
from policies.services.history import fill_changes
from policies.services.manifests import decode_file, load_manifests, parse_manifests, unique_file_names
from policies.services.matrices import matrix_pair, namespace_counts
from policies.services.placements import (
    Placement,
    PolicyKey,
    placement_sort_key,
    policy_placement,
    policy_placements,
)
from policies.services.policies import AdminSummary, admin_summaries, policies_of, selected_pods, without_policy_diff
from policies.services.proposals import (
    REVISABLE,
    add_review,
    create_proposal,
    expectations_status,
    resume_proposal,
    revise_proposal,
    run_proposal,
    wait_for_proposals,
)
from policies.services.rechecks import (
    expectations_state,
    recheck_expectations,
    resume_recheck,
    stored_version,
    wait_for_rechecks,
)
from policies.services.recovery import SweepReport, sweep
from policies.services.snapshots import create_snapshot
from policies.services.webhooks import send_proposal_webhook

__all__ = [
    "ANALYSIS_RUNNERS",
    "AdminSummary",
    "admin_summaries",
    "InvalidConnection",
    "SyncFailed",
    "SyncInProgress",
    "SyncOutcome",
    "add_cluster",
    "fill_changes",
    "queue_sync",
    "start_due_syncs",
    "sync_cluster",
    "DEMOS",
    "DEMO_DIR",
    "KeptFile",
    "drop_draft",
    "keep_files",
    "kept_files",
    "EVALUATORS",
    "GRAPH_LEVELS",
    "connections_text",
    "AnalysisNotReady",
    "InvalidTransition",
    "add_review",
    "check_team_expectations",
    "compare_checks",
    "create_proposal",
    "CHANGE_GRAPH_LEVELS",
    "change_graph",
    "proposal_graph",
    "delete_expectation",
    "expectations_state",
    "expectations_status",
    "recheck_expectations",
    "resume_recheck",
    "revise_proposal",
    "REVISABLE",
    "stored_version",
    "wait_for_rechecks",
    "import_expectations",
    "run_proposal",
    "resume_proposal",
    "wait_for_proposals",
    "save_expectation",
    "send_proposal_webhook",
    "Placement",
    "PolicyError",
    "PolicyKey",
    "ProgressWriter",
    "QueueUnavailable",
    "SweepReport",
    "publish",
    "sweep",
    "create_snapshot",
    "decode_file",
    "demo_files",
    "diff_snapshots",
    "explain_flow",
    "finished_analysis",
    "get_graph",
    "graph_json_chunks",
    "get_pod",
    "list_pods",
    "load_demo",
    "load_manifests",
    "matrix_pair",
    "namespace_counts",
    "parse_manifests",
    "placement_sort_key",
    "policies_of",
    "policy_placement",
    "policy_placements",
    "render_graph",
    "resume_analysis",
    "run_analysis",
    "selected_pods",
    "start_analysis",
    "unique_file_names",
    "wait_for_analyses",
    "without_policy_diff",
]
