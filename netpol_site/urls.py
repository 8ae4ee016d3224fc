from importlib.util import find_spec

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

# Under /api/ a URL that no route matches is answered in JSON too.
handler404 = "policies.api.not_found.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("policies.api.urls")),
    # Browsers ask for /favicon.ico whatever the page says; the icon is an SVG among the static files.
    path("favicon.ico", RedirectView.as_view(url=static("policies/favicon.svg"), permanent=True)),
]

# The pages (policies/urls.py) are built separately; the API and admin work without them.
if find_spec("policies.urls") is not None:
    urlpatterns.append(path("", include("policies.urls")))
