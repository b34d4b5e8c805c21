"""The pipeline's clock as a Dagster resource, so every asset and check asks the same "now"."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from spx_pipeline.clock import NOW_VAR, Clock, FixedClock, is_pinned, parse_instant
from spx_pipeline.settings import Settings


class ClockResource(dg.ConfigurableResource):
    """now (an ISO 8601 instant with offset) pins the time; empty means SPX_NOW or real time.

    Pinning replays a moment by hand (a holiday, an early close, a DST switch); the local Tradier
    server takes the same instant (spx-pipeline tradier-emulator --now) so both sides agree.
    """

    now: str | None = None

    def clock(self) -> Clock:
        if self.now:
            try:
                return FixedClock(parse_instant(self.now, name="clock.now"))
            except ValueError as exc:
                raise dg.Failure(description=str(exc)) from None
        try:
            return Settings.from_env().clock()
        except ValueError as exc:
            raise dg.Failure(description=f"{exc} (unset {NOW_VAR} to follow real time)") from None

    def run_time(self, context: dg.OpExecutionContext | dg.AssetExecutionContext) -> datetime:
        """One instant per run, shared by every row it writes.

        A pinned clock answers for itself; otherwise it is the run's start as Dagster recorded
        it, so steps executed in other processes (multiprocess, Celery) still agree.
        """
        clock = self.clock()
        if is_pinned(clock):
            return clock.now()
        record = context.instance.get_run_record_by_id(context.run.run_id)
        if record is not None and record.start_time is not None:
            return datetime.fromtimestamp(record.start_time, tz=UTC)
        return clock.now()
