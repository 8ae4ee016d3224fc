from celery import shared_task


# acks_late: the message is acknowledged only when the task returns, so a worker that
# dies mid-task leaves it to be redelivered. run_analysis is idempotent, so that is safe.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def compute_analysis(analysis_id: int) -> None:
    from policies import services  # inside the function: services queue this task

    services.run_analysis(analysis_id=analysis_id)


# A sync that dies is simply run again at its next due time: no late acknowledgement needed.
@shared_task(ignore_result=True)
def sync_cluster(connection_id: int, user_id: int | None = None) -> None:
    from policies.services import clusters

    clusters.run_sync(connection_id=connection_id, user_id=user_id)


@shared_task(ignore_result=True)
def sync_due_clusters() -> None:
    from policies.services import clusters

    clusters.start_due_syncs()


# Sent by Celery beat every NETPOL_SWEEP_INTERVAL seconds (workers also sweep on their own).
@shared_task(ignore_result=True)
def sweep_analyses() -> None:
    from policies import services

    services.sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def compute_proposal(proposal_id: int) -> None:
    from policies import services

    services.run_proposal(proposal_id=proposal_id)


@shared_task(ignore_result=True)
def send_proposal_webhook(review_id: int) -> None:
    from policies import services

    services.send_proposal_webhook(review_id=review_id)


# A re-check that dies is harmless to run again: results already at the current version are skipped.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def recheck_expectations(team_id: int) -> None:
    from policies.services import rechecks

    rechecks.recheck_expectations(team_id=team_id)
