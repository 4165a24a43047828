"""The Celery app a worker runs (`celery -A continual_ml.app.celery_worker`): dagster-celery's
step task, on the broker and result backend the settings name. `continual-ml worker` starts it."""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from continual_ml.app.worker_liveness import BrokerLiveness
from continual_ml.defs.executors import celery_app_args
from continual_ml.settings import Settings

app = make_app(celery_app_args(Settings.from_env()))
execute_plan = create_task(app)
# The file a container health check reads (python -m continual_ml.app.worker_liveness DIR).
app.steps["consumer"].add(BrokerLiveness)
