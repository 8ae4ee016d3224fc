from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from policies.api import proposals, teams, views
from policies.api.root import APIRoot

app_name = "api"

router = DefaultRouter()
router.APIRootView = APIRoot
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")
router.register("analyses", views.AnalysisViewSet, basename="analysis")
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("policies", views.PolicyViewSet, basename="policy")
router.register("clusters", views.ClusterViewSet, basename="cluster")
router.register("proposals", proposals.ProposalViewSet, basename="proposal")
router.register("expectations", proposals.ExpectationViewSet, basename="expectation")
router.register("teams", teams.TeamViewSet, basename="team")

urlpatterns = [
    path("", include(router.urls)),
    path("health/", views.health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema/swagger-ui/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="swagger-ui"),
    # ReDoc draws its maker's logo from their site: the one exception to "this site only".
    path(
        "schema/redoc/",
        csp_update({"img-src": ["https://cdn.redoc.ly"]})(SpectacularRedocView.as_view(url_name="api:schema")),
        name="redoc",
    ),
]
