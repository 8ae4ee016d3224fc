from importlib.util import find_spec

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("policies.api.urls")),
]

# The pages (policies/urls.py) are built separately; the API and admin work without them.
if find_spec("policies.urls") is not None:
    urlpatterns.append(path("", include("policies.urls")))
