"""A broker read split into shards that run as separate steps: plan, one step per shard, join.

Built in place of a one-step read (``tradier_balances``, ``broker_state``) when ``SPX_SYNC_SHARDS``
(or the executor's default) asks for more than one shard (``definitions``). The asset keys, the
tables and the run config path (``ops: {<name>: {config: {account_ids: [...]}}}``) stay the same;
the one step becomes:

* ``<name>.plan_<noun>_shards``: lists the active accounts and splits them (``transformations.shards``).
  The number of shards is run config (``shards``), decided per run with Dagster's dynamic
  outputs, so every host loads the same job whatever its own settings, small runs get one shard
  and no shard is ever empty but the only one.
* ``<name>.fetch_<noun>_shard[sNN]``: asks the broker for its accounts; tokens are decrypted there and
  never leave the step (``SecretToken`` refuses pickling). Any error becomes failure rows of its
  own accounts, so one shard's failure is never another's loss.
* ``<name>.write_<noun>_shards``: joins the shards' rows and writes them in one transaction, the only step
  in the warehouse pool, so shards never wait for a writer slot.
"""

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

import dagster as dg
import pandas as pd
from pydantic import Field

from spx_pipeline.broker.secrets import Redactor, SecretToken, decrypted_by_fingerprint
from spx_pipeline.broker.tradier import AccountCredential
from spx_pipeline.defs.run_config import CheckedConfig, check_run_config
from spx_pipeline.resources import TradierResource
from spx_pipeline.resources.warehouse import WAREHOUSE_POOL
from spx_pipeline.settings import MAX_SYNC_SHARDS
from spx_pipeline.storage.app.credentials import StoredCredential
from spx_pipeline.storage.warehouse.schema import column_names
from spx_pipeline.transformations.shards import (
    DEFAULT_MIN_ACCOUNTS_PER_SHARD,
    Shard,
    plan_shards,
    shard_failure_rows,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ShardInputs:
    """What a shard's fetch gets: its accounts' credentials and where and when it runs."""

    credentials: list[StoredCredential]
    tradier: TradierResource
    run_id: str
    captured_at: datetime
    log: Any

    def account_credentials(self) -> list[AccountCredential]:
        """The accounts as the broker client takes them (the token stays a ``SecretToken``)."""
        tokens = self._tokens
        return [
            AccountCredential(c.account_id, tokens[c.token.fingerprint], c.environment)
            for c in self.credentials
        ]

    def redactor(self) -> Redactor:
        """Takes every token of this shard out of a text before it is stored or logged.

        One per step: the broker reads of the step take it too (``redactor=``), so it is built once.
        """
        return self._redactor

    @cached_property
    def _tokens(self) -> dict[str, SecretToken]:
        """Each token of the step decrypted once (``SecretToken.decrypted``), by fingerprint: its
        requests and the redactor share the clear text instead of decrypting it each time."""
        return decrypted_by_fingerprint(c.token for c in self.credentials)

    @cached_property
    def _redactor(self) -> Redactor:
        return Redactor(self._tokens.values())


@dataclass(frozen=True)
class ShardFailure:
    """A shard whose fetch raised, as its failure rows need it (``message`` holds no token)."""

    shard: Shard
    error: BaseException
    message: str
    run_id: str
    captured_at: datetime

    def rows(self, stages: Sequence[str]) -> pd.DataFrame:
        """``sync_failures`` rows: every account of the shard failed at each of ``stages``."""
        return shard_failure_rows(
            self.shard,
            stages,
            error=self.error,
            message=self.message,
            run_id=self.run_id,
            captured_at=self.captured_at,
        )


def joined_rows(frames: Sequence[pd.DataFrame], table: str) -> pd.DataFrame:
    """The parts' rows of one table as one frame (the table's columns when every part is empty)."""
    kept = [f for f in frames if len(f)]
    if not kept:
        return pd.DataFrame(columns=list(column_names(table)))
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


# Rows of the join, per asset: (output name = asset key, materialization metadata).
Written = Iterator[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class ShardedRead(Generic[T]):
    """One broker read as its three parts; the one-step asset calls ``fetch`` and ``write`` too."""

    name: str
    noun: str  # names the ops (plan_<noun>_shards...): op names are unique across the code location
    specs: Sequence[dg.AssetSpec]  # the assets written, without deps
    upstream: Sequence[dg.AssetKey]  # assets that must be materialized first (no data passed)
    fetch: Callable[[ShardInputs], T]
    # The result standing for a shard whose fetch raised: every account a failure row, given the
    # error and its message with every token of the shard taken out.
    failed: Callable[[ShardFailure], T]
    # Writes every shard's result in one transaction (warehouse pool); may raise dg.Failure.
    write: Callable[[dg.OpExecutionContext, Any, list[T]], Written]


class ShardPlanConfig(CheckedConfig):
    """The accounts to read (empty = every active one) and how many steps to split them into."""

    account_ids: list[str] = Field(default_factory=list)
    shards: int = Field(ge=1, le=MAX_SYNC_SHARDS)
    min_accounts_per_shard: int = Field(default=DEFAULT_MIN_ACCOUNTS_PER_SHARD, ge=1)


def chosen_credentials(
    stored: Sequence[StoredCredential], account_ids: Sequence[str], log: Any
) -> list[StoredCredential]:
    """The active credentials a run asked for (all when it named none); unknown ids are logged."""
    if not account_ids:
        return list(stored)
    wanted = set(account_ids)
    unknown = wanted - {c.account_id for c in stored}
    if unknown:
        log.warning(f"Not active or unknown, skipped: {sorted(unknown)}")
    return [c for c in stored if c.account_id in wanted]


class AccountsConfig(CheckedConfig):
    """Limit the read to some accounts (the credentials sensor does this); empty = every active one."""

    account_ids: list[str] = Field(default_factory=list)


# What the one-step asset of a read asks for (the same resources as the sharded steps together).
ONE_STEP_RESOURCES = frozenset({"app_db", "tradier", "warehouse", "clock"})


def one_step_asset(read: ShardedRead[Any]) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorator: the one-step asset of ``read`` (its body calls ``read_in_one_step``), named as the
    read, writing its tables after its upstream assets, in the warehouse pool."""
    return dg.multi_asset(
        specs=[spec.replace_attributes(deps=read.upstream) for spec in read.specs],
        name=read.name,
        pool=WAREHOUSE_POOL,
        required_resource_keys=set(ONE_STEP_RESOURCES),
    )


def read_in_one_step(
    read: ShardedRead[T], context: dg.AssetExecutionContext, config: AccountsConfig
) -> Iterator[dg.MaterializeResult]:
    """Run ``read`` as one step (the in-process default): fetch every chosen account, then write.

    The sharded variant (``sharded_read``) runs the same two halves as separate steps.
    """
    check_run_config(context)  # a later step's bad value fails the run before any broker is asked
    resources = context.resources
    store = resources.app_db.credential_store()
    stored = chosen_credentials(store.active_credentials(verify=False), config.account_ids, context.log)
    inputs = ShardInputs(
        stored, resources.tradier, context.run.run_id, resources.clock.run_time(context), context.log
    )
    for name, metadata in read.write(context, resources.warehouse.warehouse(), [read.fetch(inputs)]):
        yield dg.MaterializeResult(asset_key=dg.AssetKey(name), metadata=metadata)


def sharded_read(read: ShardedRead[T], *, shards: int) -> dg.AssetsDefinition:
    """The graph-backed multi-asset of ``read``; ``shards`` is the run config's default."""

    @dg.op(
        name=f"plan_{read.noun}_shards",
        ins={key.to_python_identifier(): dg.In(dg.Nothing) for key in read.upstream},
        out=dg.DynamicOut(Shard),
        required_resource_keys={"app_db"},
        description="Lists the active accounts and splits them into shards (accounts of one token together).",
    )
    def plan(context: dg.OpExecutionContext, config: ShardPlanConfig) -> Iterator[dg.DynamicOutput[Shard]]:
        check_run_config(context)  # a later step's bad value fails the run before any broker is asked
        store = context.resources.app_db.credential_store()  # verifies the key against every token
        stored = chosen_credentials(store.active_credentials(verify=False), config.account_ids, context.log)
        planned = plan_shards(
            {c.account_id: c.token.fingerprint for c in stored},
            shards=config.shards,
            min_accounts=config.min_accounts_per_shard,
        )
        context.log.info(f"{len(stored)} accounts in {len(planned)} shards (at most {config.shards})")
        for shard in planned:
            yield dg.DynamicOutput(shard, mapping_key=shard.key)

    @dg.op(
        name=f"fetch_{read.noun}_shard",
        required_resource_keys={"app_db", "tradier", "clock"},
        description="Asks the broker for one shard's accounts; an error becomes its accounts' failure rows.",
    )
    def fetch(context: dg.OpExecutionContext, shard: Shard) -> Iterator[dg.Output[Any]]:
        run_id, captured_at = context.run.run_id, context.resources.clock.run_time(context)
        started, cpu, mine = time.perf_counter(), time.process_time(), []
        try:
            store = context.resources.app_db.credential_store(verify=False)  # the plan verified it
            wanted = set(shard.account_ids)
            mine = [c for c in store.active_credentials(verify=False) if c.account_id in wanted]
            gone = wanted - {c.account_id for c in mine}
            if gone:  # deactivated since the plan: not asked, as a later run would not ask either
                context.log.warning(f"No longer active, skipped: {sorted(gone)}")
            part = read.fetch(ShardInputs(mine, context.resources.tradier, run_id, captured_at, context.log))
            failed = False
        except Exception as exc:  # the shard's accounts fail, never the run's other shards
            message = Redactor(c.token for c in mine)(str(exc)) or type(exc).__name__
            context.log.warning(
                f"Shard {shard.key} failed ({type(exc).__name__}: {message}); its "
                f"{len(shard.account_ids)} accounts are recorded as failures"
            )
            part, failed = read.failed(ShardFailure(shard, exc, message, run_id, captured_at)), True
        # What the shard cost (the bench reads it, the UI shows it per mapped step).
        yield dg.Output(
            part,
            metadata={
                "accounts": dg.MetadataValue.int(len(shard.account_ids)),
                "fetch_seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 4)),
                # The step's process CPU meanwhile (a worker runs one step at a time): how busy a
                # shard keeps its core, which decides how many shards a host's cores carry at once.
                "fetch_cpu_seconds": dg.MetadataValue.float(round(time.process_time() - cpu, 4)),
                "failed_whole": dg.MetadataValue.bool(failed),
            },
        )

    names = [spec.key.to_python_identifier() for spec in read.specs]

    @dg.op(
        name=f"write_{read.noun}_shards",
        out={name: dg.Out(dg.Nothing) for name in names},
        required_resource_keys={"warehouse"},
        pool=WAREHOUSE_POOL,
        description="Joins the shards and writes every table in one transaction.",
    )
    def write(context: dg.OpExecutionContext, parts: list[Any]) -> Iterator[dg.Output[None]]:
        for name, metadata in read.write(context, context.resources.warehouse.warehouse(), parts):
            yield dg.Output(None, output_name=name, metadata=metadata)

    def mapping(value: Mapping[str, Any]) -> dict[str, Any]:
        return {plan.name: {"config": dict(value)}}

    [group] = {spec.group_name for spec in read.specs}  # one group: the graph carries it

    @dg.graph_multi_asset(
        name=read.name,
        group_name=group,
        ins={k.to_python_identifier(): dg.AssetIn(key=k, dagster_type=dg.Nothing) for k in read.upstream},
        outs={
            name: dg.AssetOut.from_spec(spec.replace_attributes(group_name=None), dagster_type=dg.Nothing)
            for name, spec in zip(names, read.specs, strict=True)
        },
        config=dg.ConfigMapping(
            config_fn=mapping,
            config_schema={
                "account_ids": dg.Field([str], default_value=[], is_required=False),
                "shards": dg.Field(int, default_value=shards, is_required=False),
                "min_accounts_per_shard": dg.Field(
                    int, default_value=DEFAULT_MIN_ACCOUNTS_PER_SHARD, is_required=False
                ),
            },
        ),
    )
    def graph(**upstream: Any) -> Any:
        written = write(plan(**upstream).map(fetch).collect())
        return dict(zip(names, written if len(names) > 1 else [written], strict=True))

    return graph
