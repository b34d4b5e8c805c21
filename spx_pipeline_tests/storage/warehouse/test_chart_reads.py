"""The charts' figures: published rows only, the newest reading of a leg, each day's newest run."""

from __future__ import annotations

from datetime import date

from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog
from spx_pipeline.storage.warehouse.store import Warehouse


def test_the_same_figures_from_the_warehouse_and_from_the_analyst_copy(chart_warehouse: Warehouse) -> None:
    catalog = AnalystCatalog(chart_warehouse.path)
    sources = (
        (chart_warehouse.query, chart_reads.WAREHOUSE_PREFIX),
        (catalog.query, chart_reads.ANALYST_PREFIX),
    )
    for run, prefix in sources:
        equity = chart_reads.equity_history(run, prefix)
        assert equity["account_id"].tolist() == ["VA1", "VA1", "VA2", "VA2"]
        assert equity["total_equity"].tolist() == [50000.0, 51000.0, 20000.0, 19500.0]
        assert chart_reads.account_count(run, prefix) == 2
        assert chart_reads.equity_history(run, prefix, max_accounts=1)["account_id"].unique().tolist() == [
            "VA1"
        ]
        fills = chart_reads.slippage_of_fills(run, prefix)
        by_leg = fills.groupby(["setup_id", "leg"])["slippage_ticks"].apply(sorted).to_dict()
        assert by_leg == {("s1", "entry"): [-3.0, 2.0], ("s2", "t1"): [0.5]}  # t1 read twice: newest only
        outcomes = chart_reads.outcomes_per_day(run, prefix)
        days = [d.date() for d in outcomes["as_of_date"]]
        assert days == [date(2026, 11, 24), date(2026, 11, 25)]
        assert outcomes["tradable"].tolist() == [1, 2]  # day 2: the 10:15 run, not the blocked 10:00 one
        assert outcomes["blocked"].tolist() == [1, 0]
