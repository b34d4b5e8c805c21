from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from spx_pipeline.broker.tradier import BalanceResult, Balances, TradierServerError
from spx_pipeline.transformations.portfolio import (
    balance_frames,
    risk_contexts,
    snapshot_candidates,
    validated_snapshots,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
CASH = {
    "account_number": "C1",
    "account_type": "cash",
    "total_equity": Decimal("8125.750000000000000000000000"),
    "total_cash": Decimal("8125.75"),
    "pending_orders_count": 0,
    "pending_cash": 0,
    "cash": {"cash_available": Decimal("7000.10"), "unsettled_funds": Decimal("12.5"), "sweep": 0},
}
PDT = {
    "account_number": "P1",
    "account_type": "pdt",
    "total_equity": Decimal("30000"),
    "total_cash": Decimal("30000"),
    "pending_orders_count": 1,
    "pending_cash": Decimal("100"),
    "pdt": {"option_buying_power": Decimal("29000"), "day_trade_buying_power": Decimal("116000")},
}


def _frames() -> pd.DataFrame:
    results = [
        BalanceResult("C1", Balances.from_json(CASH), None, 0.1),
        BalanceResult("P1", Balances.from_json(PDT), None, 0.1),
        BalanceResult("X1", None, TradierServerError("boom", status=503, method="GET", path="/x"), 0.2),
    ]
    frames = balance_frames(
        results, environments={"C1": "sandbox", "P1": "live"}, run_id="r", captured_at=NOW
    )
    assert list(frames.failures["account_id"]) == ["X1"]
    assert frames.failures["http_status"].iloc[0] == 503
    assert frames.failures["error_class"].iloc[0] == "TradierServerError"
    return frames.balances


def test_balances_keep_type_specific_fields_and_raw_json() -> None:
    balances = _frames().set_index("account_id")
    assert balances.loc["C1", "cash_available"] == 7000.10
    assert pd.isna(balances.loc["C1", "option_buying_power"])
    assert balances.loc["P1", "day_trade_buying_power"] == 116000
    assert balances.loc["P1", "environment"] == "live"
    assert '"cash_available": 7000.1' in balances.loc["C1", "raw_json"]


def test_snapshots_use_settled_cash_for_cash_accounts_and_flag_pdt() -> None:
    snaps = validated_snapshots(snapshot_candidates(_frames())).snapshots.set_index("account_id")
    assert snaps.loc["C1", "option_buying_power"] == 7000.10
    assert bool(snaps.loc["P1", "pdt_qualified"]) is True
    assert bool(snaps.loc["C1", "pdt_qualified"]) is False


def test_risk_contexts_leave_pdt_unknown_for_cash_accounts_and_use_latest_snapshot() -> None:
    snaps = validated_snapshots(snapshot_candidates(_frames())).snapshots
    older = snaps.copy()
    older["captured_at"] = older["captured_at"] - pd.Timedelta(minutes=5)
    older["option_buying_power"] = 1.0
    contexts = risk_contexts(pd.concat([older, snaps]), max_risk_dollars=Decimal("500"))
    assert contexts["C1"].pdt_qualified is None  # the PDT rule does not apply to cash accounts
    assert contexts["C1"].cash_available == Decimal("7000.1")
    assert contexts["C1"].buying_power() == Decimal("7000.1")
    assert contexts["P1"].pdt_qualified is True
    assert contexts["P1"].option_buying_power == Decimal("29000")
    assert contexts["P1"].day_trade_buying_power == Decimal("116000")
    assert contexts["C1"].fingerprint() != contexts["P1"].fingerprint()


def test_pdt_qualified_is_derived_from_account_type_and_the_25k_equity_minimum() -> None:
    def margin(account: str, equity: str, kind: str = "margin") -> BalanceResult:
        body = {
            "account_number": account,
            "account_type": kind,
            "total_equity": Decimal(equity),
            "total_cash": Decimal(equity),
            "pending_orders_count": 0,
            kind: {"option_buying_power": Decimal(equity)},
        }
        return BalanceResult(account, Balances.from_json(body), None, 0.1)

    results = [margin("M1", "24999.99"), margin("M2", "25000"), margin("P1", "12000", "pdt")]
    frames = balance_frames(results, environments={}, run_id="r", captured_at=NOW)
    snaps = validated_snapshots(snapshot_candidates(frames.balances)).snapshots.set_index("account_id")
    assert bool(snaps.loc["M1", "pdt_qualified"]) is False
    assert bool(snaps.loc["M2", "pdt_qualified"]) is True
    assert bool(snaps.loc["P1", "pdt_qualified"]) is False  # flagged PDT under $25k: no day trades


def test_the_broker_record_and_the_pipeline_apply_one_pdt_rule() -> None:
    """A pdt account with $20k and a margin account with $50k: the record and the snapshot agree."""
    bodies = [
        ("P20", "pdt", "20000"),
        ("M50", "margin", "50000"),
        ("P30", "pdt", "30000"),
        ("M10", "margin", "10000"),
        ("C90", "cash", "90000"),
    ]
    records = {}
    for account, kind, equity in bodies:
        body = {
            "account_number": account,
            "account_type": kind,
            "total_equity": Decimal(equity),
            "total_cash": Decimal(equity),
            "pending_orders_count": 0,
            kind: {"cash_available" if kind == "cash" else "option_buying_power": Decimal(equity)},
        }
        records[account] = Balances.from_json(body)
    assert {a: b.pdt_qualified for a, b in records.items()} == {
        "P20": False,  # flagged pdt but under the $25,000 minimum: restricted
        "M50": True,  # margin with the minimum may day trade freely
        "P30": True,
        "M10": False,
        "C90": None,  # the rule does not apply to cash accounts
    }
    results = [BalanceResult(a, b, None, 0.1) for a, b in records.items()]
    frames = balance_frames(results, environments={}, run_id="r", captured_at=NOW)
    snaps = validated_snapshots(snapshot_candidates(frames.balances)).snapshots
    contexts = risk_contexts(snaps, max_risk_dollars=Decimal("500"))
    stored = snaps.set_index("account_id")["pdt_qualified"]
    for account, record in records.items():
        assert contexts[account].pdt_qualified is record.pdt_qualified
        assert bool(stored[account]) is (record.pdt_qualified is True)
