from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from policies.api import views

app_name = "api"

router = DefaultRouter()
router.register("snapshots", views.SnapshotViewSet, basename="snapshot")
router.register("analyses", views.AnalysisViewSet, basename="analysis")
router.register("resources", views.ResourceViewSet, basename="resource")
router.register("policies", views.PolicyViewSet, basename="policy")

urlpatterns = [
    path("", include(router.urls)),
    path("health/", views.health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("schema/swagger-ui/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="swagger-ui"),
    path("schema/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
