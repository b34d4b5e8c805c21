"""The trade lifecycle on the schedule: every live trade brought up to the broker's reports, exits sent.

The reconciliation run has just read every account's orders and positions (``broker_state``); this
step settles claims dead runs left, stores what each of our orders did, moves each trade along its
state table, and sends the exits that cover what filled (closing orders only: a filled contract
without its stop is the one risk that cannot wait for a person; entries are never sent from here).
Then the warehouse gets the app database's copy of the trades.
"""

from collections.abc import Callable, Iterator, Mapping

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.broker.tradier.hosts import base_url_for
from spx_pipeline.defs.charts import pnl_chart
from spx_pipeline.defs.common import table_asset
from spx_pipeline.defs.display import preview_markdown
from spx_pipeline.defs.execution.assets import ORDERS, POSITIONS, broker_read_run
from spx_pipeline.defs.run_config import CheckedConfig, check_run_config
from spx_pipeline.domain.execution import PlacementRefused, check_environment
from spx_pipeline.domain.trades import TradeState
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.settings import Settings
from spx_pipeline.storage.warehouse import execution_reads as reads
from spx_pipeline.storage.warehouse.trade_mirror import mirror_trades
from spx_pipeline.transformations.placement import is_live_url
from spx_pipeline.transformations.placement_view import plan_frame
from spx_pipeline.transformations.trade_placement import PlacementRequest, run_placement
from spx_pipeline.transformations.trade_reports import account_views


class TradesConfig(CheckedConfig):
    """Whether this run may send the exits that cover what filled."""

    protective_exits: bool = Field(
        default=True,
        description=(
            "Send the exits (stops, T1 targets) that cover contracts already filled: closing orders only, "
            "never an entry. Off: only bring the trades up to the broker's reports."
        ),
    )


class _Clients(Mapping[str, TradierClient]):
    """A client per account, made only when the pass needs one (most accounts send nothing)."""

    def __init__(self, accounts: list[str], factory: Callable[[str], TradierClient]) -> None:
        self._accounts = accounts
        self._factory = factory
        self._made: dict[str, TradierClient] = {}

    def __getitem__(self, account: str) -> TradierClient:
        if account not in self._made:
            self._made[account] = self._factory(account)
        return self._made[account]

    def __iter__(self) -> Iterator[str]:
        return iter(self._accounts)

    def __len__(self) -> int:
        return len(self._accounts)

    def close(self) -> None:
        for client in self._made.values():
            client.close()


@table_asset(
    group="execution",
    kinds={"tradier", "duckdb", "sqlite"},
    deps=[POSITIONS, ORDERS],
    description=(
        "Every trade (one per account x setup x session) as the app database holds it, brought up to the "
        "broker's reports of this run: claims settled, fills stored, states moved with their reasons, and "
        "the exits that cover what filled sent. Copied to the warehouse with every version and event."
    ),
)
def trades(
    context: dg.AssetExecutionContext,
    config: TradesConfig,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    check_run_config(context)  # no exit leaves while a later step of this run has a bad value
    wh = warehouse.warehouse()
    read = broker_read_run(context)
    store = app_db.trade_store()
    credentials = {c.account_id: c for c in app_db.credential_store().active_credentials(verify=False)}
    orphans = sorted(store.live_accounts() - set(credentials))
    failures = reads.broker_state_failures(wh, read)
    views = account_views(
        credentials, reads.orders_of_run(wh, read), reads.positions_of_run(wh, read), failures
    )
    settings = Settings.from_env()
    # The live host takes orders only with TRADIER_ALLOW_LIVE and a credential marked live.
    allowed, refused = [], []
    # The host each environment resolves to, once per environment rather than once per account.
    live_host = {
        env: is_live_url(base_url_for(env, tradier.base_url))
        for env in {c.environment for c in credentials.values()}
    }
    for account, cred in sorted(credentials.items()):
        try:
            check_environment(
                live_host=live_host[cred.environment],
                allow_live=settings.allow_live.enabled,
                live_credential=cred.environment == "live",
            )
            allowed.append(account)
        except PlacementRefused as exc:
            refused.append(f"{account}: {exc}")
    clients = _Clients(
        allowed, lambda account: tradier.client(credentials[account].token, credentials[account].environment)
    )
    try:
        request = PlacementRequest(
            account_ids=allowed,
            entries=False,
            dry_run=not config.protective_exits,
            day_trade_guard=settings.day_trade_guard,
        )
        outcome = run_placement(
            store, clients, request, now=clock.clock().now, run_id=context.run.run_id, views=views
        )
    finally:
        clients.close()
    copied = mirror_trades(app_db.database(), wh, run_id=context.run.run_id, now=clock.run_time(context))
    states = pd.Series([str(v.trade.state) for v in outcome.trades], dtype=object).value_counts().to_dict()
    for sent in outcome.sent:
        if sent.status != "placed":
            context.log.warning(f"Exit {sent.intent.tag}: {sent.status}: {sent.message}")
    for account, why in outcome.unreadable.items():
        context.log.warning(f"Account {account}: trades not followed: {why}")
    for why in refused:
        context.log.warning(f"Not followed: {why}")
    if orphans:
        context.log.warning(
            f"Live trades of accounts without an active credential are not followed: {orphans}"
        )
    metadata = {
        "broker_read_run": read,
        "live_trades": dg.MetadataValue.int(len(outcome.trades)),
        **{f"state_{s.value}": dg.MetadataValue.int(int(states.get(s.value, 0))) for s in TradeState},
        "exits_sent": dg.MetadataValue.int(sum(s.status == "placed" for s in outcome.sent)),
        "exits_not_sent": dg.MetadataValue.int(sum(s.status != "placed" for s in outcome.sent)),
        "accounts_unreadable": dg.MetadataValue.int(len(outcome.unreadable)),
        "trade_versions_copied": dg.MetadataValue.int(copied.trade_versions),
        "placement_runs_repaired": dg.MetadataValue.int(copied.placement_runs_repaired),
        "plan": preview_markdown(plan_frame(outcome.rows).head(50), money=("price", "stop_price")),
        **pnl_chart(wh),
    }
    return dg.MaterializeResult(metadata=metadata)
