"""The code location's resources, declared once for every domain folder.

A variable that is set when the code location loads is declared as ``dg.EnvVar``: the UI's
Resources page shows which variable each value comes from (never the value), and the run reads it
once when the resource starts. An unset variable leaves the field empty, which means the
documented default (``data/...``, the Tradier sandbox, real time). Variable names come from
``spx_pipeline.settings``, their one definition. Secrets (``SPX_CREDENTIALS_KEY``) are not resource
fields: the credential store reads them when it opens, so they never sit in resource config.
"""

import dagster as dg

from spx_pipeline.clock import NOW_VAR
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.resources.executor import io_manager_from_settings
from spx_pipeline.settings import (
    APP_DB_URL_VAR,
    MARKET_DATA_ACCOUNT_VAR,
    TRADIER_BASE_URL_VAR,
    WAREHOUSE_PATH_VAR,
    Settings,
)


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources bound to the variables ``settings`` (the environment by default) has set."""
    settings = settings or Settings.from_env()

    def env(name: str, value: object) -> dg.EnvVar | None:
        return dg.EnvVar(name) if value is not None else None

    return {
        "app_db": AppDatabaseResource(
            url=env(APP_DB_URL_VAR, settings.app_db_url),
            setting=APP_DB_URL_VAR if settings.app_db_url is not None else None,
        ),
        "warehouse": WarehouseResource(
            path=env(WAREHOUSE_PATH_VAR, settings.warehouse_path),
            setting=WAREHOUSE_PATH_VAR if settings.warehouse_path is not None else None,
        ),
        "tradier": TradierResource(
            base_url=env(TRADIER_BASE_URL_VAR, settings.tradier_base_url),
            market_data_account=env(MARKET_DATA_ACCOUNT_VAR, settings.market_data_account),
        ),
        "clock": ClockResource(now=env(NOW_VAR, settings.now)),
        # SPX_IO_DIR: step outputs on a mount every (Celery) worker shares; unset, Dagster's default.
        **io_manager_from_settings(settings),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=default_resources())
