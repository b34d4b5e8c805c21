"""Market data group: SPX/SPXW option chains for the nearest sessions."""

from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.defs.common import table_asset
from spx_pipeline.defs.display import preview_markdown, row_counts
from spx_pipeline.defs.run_config import CheckedConfig, SessionDay
from spx_pipeline.domain.market_calendar import trading_day
from spx_pipeline.resources import AppDatabaseResource, ClockResource, TradierResource, WarehouseResource
from spx_pipeline.settings import MARKET_DATA_ACCOUNT_VAR
from spx_pipeline.transformations.chain import (
    SPX_ROOTS,
    chain_rows,
    expirations_to_fetch,
    market_day_mismatch,
)
from spx_pipeline.transformations.quality import median_spread

# A week of expirations ahead; more is a typo, and each one is a chain request.
MAX_NEXT_SESSIONS = 10


class ChainConfig(CheckedConfig):
    """Which stored credential pays for market data, how far ahead to look, and an optional as-of day."""

    market_data_account: str | None = None
    next_sessions: int = Field(
        default=2, ge=0, le=MAX_NEXT_SESSIONS,
        description=f"Sessions after today whose expirations are fetched, 0..{MAX_NEXT_SESSIONS}.",
    )  # fmt: skip
    # The broker must be serving that session (a local Tradier server pinned to it); otherwise
    # the run stops rather than mix two days.
    as_of: SessionDay = Field(
        default=None,
        description=(
            "YYYY-MM-DD in 2000-01-03..2045-12-29: the session to fetch (a holiday: the next one); "
            "empty = today."
        ),
    )


@table_asset(
    group="market_data",
    kinds={"tradier", "duckdb"},
    description=(
        "SPX/SPXW expirations (includeAllRoots) and option chains with greeks for today's 0DTE session "
        "when the market has one and the next sessions always; symbols parsed by the domain OCC module. "
        "'Today' is the NYSE trading day from exchange-calendars, so weekends and holidays behave."
    ),
)
def spx_option_chain(
    context: dg.AssetExecutionContext,
    config: ChainConfig,
    app_db: AppDatabaseResource,
    tradier: TradierResource,
    warehouse: WarehouseResource,
    clock: ClockResource,
) -> dg.MaterializeResult:
    captured_at = clock.run_time(context)
    try:
        day = date.fromisoformat(config.as_of) if config.as_of else trading_day(captured_at)
    except ValueError as exc:
        raise dg.Failure(description=f"as_of={config.as_of!r} is not a YYYY-MM-DD date: {exc}") from None
    wanted = config.market_data_account or tradier.market_data_account
    # One token pays for the chain: the key is verified on it (and the first active one), not on
    # every account's (the sync's broker_credentials step does that).
    credential = app_db.credential_store(verify=False).active_credential(wanted)
    if credential is None:
        raise dg.Failure(
            description=(
                f"No active credential for market data (wanted {wanted!r}); add one with "
                f"`spx-pipeline credentials add` or set {MARKET_DATA_ACCOUNT_VAR}."
            )
        )
    with tradier.client(credential.token, credential.environment) as client:
        mismatch = market_day_mismatch(
            day, as_of=bool(config.as_of), pipeline_now=captured_at, broker_now=client.get_clock().timestamp
        )
        if mismatch:
            raise dg.Failure(description=f"Option chain not fetched: {mismatch}.")
        listed = client.get_option_expirations("SPX", include_all_roots=True)
        expirations = expirations_to_fetch(listed, day, next_sessions=config.next_sessions)
        frames = []
        skipped: list[str] = []  # contracts with a non-finite or absurd number: left out, counted
        for expiration in expirations:
            frame, bad = client.screened_chain_frame("SPX", expiration, greeks=True)
            skipped += bad
            if frame.empty or not frame["root_symbol"].eq("SPXW").any():
                # Whether symbol=SPX returns the SPXW weeklies is unverified: ask both.
                weeklies, bad = client.screened_chain_frame("SPXW", expiration, greeks=True)
                skipped += bad
                frame = pd.concat([frame, weeklies]).drop_duplicates(subset="symbol")
            frames.append(frame)
    skipped = list(dict.fromkeys(skipped))
    if skipped:
        context.log.warning(f"{len(skipped)} contract(s) skipped: {'; '.join(skipped[:5])}")
    raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    rows = chain_rows(raw, trading_day=day, run_id=context.run.run_id, captured_at=captured_at)
    wh = warehouse.warehouse()
    wh.replace_rows(
        "spx_option_chain",
        rows,
        delete_where={"run_id": context.run.run_id},
    )
    spread = median_spread(rows)
    by_expiry = (
        rows.groupby(["expiration_date", "root_symbol"]).size().rename("contracts").reset_index()
        if len(rows)
        else pd.DataFrame()
    )
    return dg.MaterializeResult(
        metadata={
            **row_counts(wh, "spx_option_chain", len(rows)),
            "trading_day": day.isoformat(),
            "market_data_account": credential.account_id,
            "expirations": ", ".join(d.isoformat() for d in expirations),
            "has_0dte": bool(rows["is_0dte"].any()) if len(rows) else False,
            "roots": ", ".join(sorted(set(rows["root_symbol"]) & set(SPX_ROOTS))) if len(rows) else "",
            "contracts_by_expiration": preview_markdown(by_expiry),
            "skipped_contracts": len(skipped),
            **({"skipped_reasons": "\n".join(skipped[:20])} if skipped else {}),
            # Dollars per share across two-sided quotes: how costly crossing the spread is today.
            **({} if spread is None else {"median_spread": dg.MetadataValue.float(spread)}),
        }
    )
