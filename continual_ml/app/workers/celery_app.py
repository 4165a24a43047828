"""The Celery app a worker runs (`celery -A continual_ml.app.workers.celery_app`): dagster-celery's
run tasks, on the broker and result backend the settings name. `continual-ml worker` starts it."""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task

from continual_ml.app.workers.celery_config import celery_app_args
from continual_ml.app.workers.liveness import BrokerLiveness
from continual_ml.settings import Settings

app = make_app(celery_app_args(Settings.from_env()))
# What the run launcher sends: a whole run (`execute_job`), or a run to resume (`resume_job`,
# registered though the launcher does not resume: a lost worker's run fails and is retried).
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
# The heartbeat the launcher reads, and the file a container health check reads
# (python -m continual_ml.app.workers.liveness DIR).
app.steps["consumer"].add(BrokerLiveness)
