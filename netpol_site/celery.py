import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "netpol_site.settings")

app = Celery("netpol_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Workers sweep for analyses a killed worker or a broker outage left behind.
import policies.worker  # noqa: E402,F401
