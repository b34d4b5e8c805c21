"""The Celery app ``spx-pipeline celery-worker`` runs: dagster-celery's step task on the configured broker.

Broker and result backend come from the worker's own environment (``SPX_CELERY_BROKER_URL``,
``SPX_CELERY_BACKEND_URL``), the same settings the runs' Celery executor reads, so neither URL (a
broker password included) is written to a config file. Imported only by Celery workers: it needs
the ``celery`` extra. It is an entry point that loads the whole code location, so it sits with the
CLI at the top of the layers (``resources`` may not import ``definitions``).
"""

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import spx_pipeline.definitions  # noqa: F401  (pool processes fork with the code location imported)
from spx_pipeline.settings import Settings

_broker, _backend = Settings.from_env().celery_urls()
app = make_app(CeleryExecutor.for_cli(broker=_broker, backend=_backend).app_args())
execute_plan = create_task(app)
