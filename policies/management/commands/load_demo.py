from typing import Any

from django.core.management.base import BaseCommand

from policies import services


class Command(BaseCommand):
    help = "Load the demo snapshots (classic examples and a microservices shop). Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        loaded = services.load_demo()
        services.wait_for_analyses()  # a command's background thread ends with it: finish here
        for snapshot, created in loaded:
            verb = "created" if created else "up to date"
            analysis = snapshot.latest_analysis()
            status = analysis.status if analysis else "not analysed"
            self.stdout.write(f"{verb}: #{snapshot.id} {snapshot.name} (analysis {status})")
