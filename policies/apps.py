from django.apps import AppConfig
from django.core.signals import request_started


class PoliciesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "policies"
    verbose_name = "Network policies"

    def ready(self) -> None:
        from policies import worker

        # On the embedded default the web process runs the analyses, and sweeps for stuck ones.
        request_started.connect(worker.sweep_beside_the_thread_runner, dispatch_uid="netpol-sweep", weak=False)
