from django.urls import path

from policies import review_views, views

app_name = "policies"

urlpatterns = [
    path("", views.snapshot_list, name="snapshot-list"),
    path("snapshots/upload/", views.upload, name="upload"),
    path("snapshots/demo/", views.load_demo, name="load-demo"),
    path("snapshots/<int:snapshot_id>/", views.snapshot_overview, name="snapshot"),
    path("snapshots/<int:snapshot_id>/analyze/", views.reanalyze, name="reanalyze"),
    path("snapshots/<int:snapshot_id>/graph/", views.graph, name="graph"),
    path("snapshots/<int:snapshot_id>/graph.<str:fmt>", views.graph_export, name="graph-export"),
    path("snapshots/<int:snapshot_id>/flow/", views.flow_check, name="flow"),
    path("snapshots/<int:snapshot_id>/matrix/", views.matrix, name="matrix"),
    path("snapshots/<int:snapshot_id>/compare/", views.compare, name="compare"),
    path("snapshots/<int:snapshot_id>/propose/", review_views.propose, name="propose"),
    path("teams/<slug:team_name>/", review_views.team_detail, name="team"),
    path("teams/<slug:team_name>/expectations/", review_views.team_expectations, name="team-expectations"),
    path("proposals/", review_views.proposal_list, name="proposal-list"),
    path("proposals/<int:proposal_id>/", review_views.proposal_detail, name="proposal"),
    path("proposals/<int:proposal_id>/review/", review_views.proposal_review, name="proposal-review"),
    path("proposals/<int:proposal_id>/revise/", review_views.proposal_revise, name="proposal-revise"),
    path("proposals/<int:proposal_id>/graph/", review_views.proposal_graph, name="proposal-graph"),
    path("snapshots/<int:snapshot_id>/policies/<int:resource_id>/", views.policy_detail, name="policy"),
    path("clusters/", views.cluster_list, name="cluster-list"),
    path("clusters/<slug:name>/", views.cluster_detail, name="cluster"),
    path("clusters/<slug:name>/sync/", views.cluster_sync, name="cluster-sync"),
    path("clusters/<slug:name>/drift/", views.cluster_drift, name="cluster-drift"),
]
