"""Vectorized ``recommend()`` vs a naive per-account, per-row loop, on one synthetic SPXW day.

The naive baseline is what a straightforward port of a request-time selector does: for every
account and setup (in the order the account's budgets are spent: priority, then id) it walks the
chain rows in Python, applies the same filters (the spread test in integer 1/10,000 dollars, as
exact money requires), picks the nearest
delta with the same tie-breaks, prices the limit with the scalar tick functions and sizes with
``size_position`` against what the account's earlier setups left. Both must produce identical
recommendations (checked here) before the times mean anything.

Run: ``.venv/bin/python bench/recommend.py [--contexts N] [--strikes-each-side K]``.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd

from spx_pipeline.domain.contract_selection import SelectionConfig, recommend
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.domain.risk_context import RiskContext
from spx_pipeline.domain.setups import Setup, setup_order
from spx_pipeline.domain.sizing import Committed, size_position
from spx_pipeline.domain.ticks import round_to_tick
from spx_pipeline.domain.zero_dte import ZeroDtePolicy, evaluate_0dte
from spx_pipeline.emulator.sample_data import synthetic_spx_chain

AS_OF = date(2026, 11, 24)
SETUPS = [
    Setup("trend-call", "bullish", target_delta=0.40),
    Setup("fade-put", "bearish", target_delta=0.30, stop_premium=Decimal("1.00")),
    Setup("lotto-call", "bullish", target_delta=0.15),
]
COMPARED = (
    "symbol",
    "expiration_date",
    "limit_price",
    "suggested_contracts",
    "suggested_cost",
    "binding_constraint",
    "blocked",
)


def make_contexts(n: int, seed: int = 11) -> dict[str, RiskContext]:
    """Distinct accounts: mixed types, PDT flags (incl. unknown), DTBP around the floor, budgets."""
    rng = random.Random(seed)
    contexts: dict[str, RiskContext] = {}
    for i in range(n):
        account_type = rng.choice(["margin", "cash", "pdt", None])
        contexts[f"VA{i:06d}"] = RiskContext(
            account_type=account_type,
            pdt_qualified=rng.choice([True, False, None]),
            day_trade_buying_power=rng.choice([None, rng.randint(0, 80_000)]),
            max_risk_dollars=rng.choice([None, rng.randint(50, 5_000)]),
            max_daily_risk_dollars=rng.choice([None, None, rng.randint(100, 8_000)]),
            option_buying_power=rng.randint(0, 50_000) if account_type != "cash" else None,
            cash_available=rng.randint(0, 20_000),
        )
    return contexts


def naive_recommend(  # noqa: PLR0917 - a deliberately plain baseline
    records: list[dict[str, Any]],
    setups: list[Setup],
    contexts: dict[str, RiskContext],
    as_of: date,
    policy: ZeroDtePolicy,
    config: SelectionConfig,
) -> list[dict[str, Any]]:
    out = []
    for account_id, ctx in contexts.items():
        allowed = evaluate_0dte(ctx, policy).allowed
        committed = Committed()
        for setup in setup_order(setups):
            row, committed = _naive_one(records, setup, ctx, account_id, as_of, allowed, config, committed)
            out.append(row)
    return out


def _naive_one(  # noqa: PLR0917 - a deliberately plain baseline
    records: list[dict[str, Any]],
    setup: Setup,
    ctx: RiskContext,
    account_id: str,
    as_of: date,
    allowed: bool,
    config: SelectionConfig,
    committed: Committed,
) -> tuple[dict[str, Any], Committed]:
    want = setup.option_type
    spread_bp = round(config.max_spread_pct * 10_000)
    expiries = sorted(
        {
            r["expiration"]
            for r in records
            if r["root"] in config.roots and r["type"] == want and r["expiration"] >= as_of
        }
    )
    expiry = None
    if as_of in expiries and allowed:
        expiry = as_of
    else:
        later = [e for e in expiries if e > as_of]
        expiry = later[0] if later else None
    best: tuple[float, float, int] | None = None
    best_row = None
    if expiry is not None:
        for r in records:
            if r["root"] not in config.roots or r["type"] != want or r["expiration"] != expiry:
                continue
            bid, ask = r["bid"], r["ask"]
            if not (bid > 0 and ask > 0):
                continue
            bid_u, ask_u = round(bid * 10_000), round(ask * 10_000)
            if 2 * (ask_u - bid_u) * 10_000 > spread_bp * (ask_u + bid_u):
                continue
            if not r["volume"] >= config.min_volume or not r["open_interest"] >= config.min_open_interest:
                continue
            delta = r["delta"]
            if delta is None or math.isnan(delta):
                continue
            key = (abs(abs(delta) - setup.target_delta), ask, r["strike_milli"])
            if best is None or key < best:
                best, best_row = key, r
    if (
        best_row is None
        or best is None
        or (config.max_delta_distance is not None and best[0] > config.max_delta_distance + 1e-12)
    ):
        empty = {
            "account_id": account_id,
            "setup_id": setup.setup_id,
            "symbol": None,
            "suggested_contracts": 0,
        }
        return empty, committed
    mid = (best_row["bid"] + best_row["ask"]) / 2.0
    limit = min(round_to_tick(mid, "buy"), round_to_tick(best_row["ask"], "sell"))
    same_day = expiry == as_of
    try:
        sized = size_position(
            ctx,
            limit,
            stop_premium=setup.stop_premium,
            fee_per_contract=config.fee_per_contract,
            default_max_risk=config.default_max_risk,
            same_day=same_day,
            committed=committed,
        )
        contracts, cost, binding, reason = sized.contracts, sized.cost, sized.binding_constraint, sized.reason
        committed = committed.plus(sized, same_day=same_day)
    except ValueError:
        contracts, cost, binding, reason = 0, Decimal(0), "stop_not_below_entry", None
    contract = parse_option_symbol(best_row["symbol"])
    row = {
        "account_id": account_id,
        "setup_id": setup.setup_id,
        "symbol": contract.tradier,
        "expiration_date": contract.expiration,
        "limit_price": limit,
        "suggested_contracts": contracts,
        "suggested_cost": cost,
        "binding_constraint": binding,
        "blocked": contracts == 0,
        "sizing_reason": reason,
    }
    return row, committed


def chain_records(chain: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for r in chain.to_dict(orient="records"):
        c = parse_option_symbol(r["symbol"])
        rows.append(
            {
                "symbol": r["symbol"],
                "root": c.root,
                "type": "call" if c.right == "C" else "put",
                "expiration": c.expiration,
                "strike_milli": c.strike_milli,
                "bid": float(r["bid"]),
                "ask": float(r["ask"]),
                "volume": float(r["volume"]),
                "open_interest": float(r["open_interest"]),
                "delta": float(r["delta"]),
            }
        )
    return rows


def check_identical(fast: pd.DataFrame, slow: list[dict[str, Any]]) -> int:
    indexed = fast.set_index(["account_id", "setup_id"])
    for row in slow:
        got = indexed.loc[(row["account_id"], row["setup_id"])]
        if row["symbol"] is None:
            assert got["symbol"] is None and got["suggested_contracts"] == 0, (row, got.to_dict())
            assert got["blocked"], (row, got.to_dict())
            continue
        for name in COMPARED:
            assert got[name] == row[name], (name, row, got.to_dict())
        if row["sizing_reason"] is not None:  # a 0DTE roll adds its note after the sizing sentence
            assert got["sizing_reason"].startswith(row["sizing_reason"]), (row, got.to_dict())
    return len(slow)


def clear_caches() -> None:
    from spx_pipeline.domain import money, sizing_reasons

    money._units_to_decimal.cache_clear()
    sizing_reasons.dollars.cache_clear()
    sizing_reasons.dollars_of_units.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=1000, help="number of distinct risk contexts")
    parser.add_argument("--strikes-each-side", type=int, default=100, help="strikes per side per expiry")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs for each implementation")
    args = parser.parse_args()
    chain = synthetic_spx_chain(AS_OF, strikes_each_side=args.strikes_each_side)
    contexts = make_contexts(args.contexts)
    policy, config = ZeroDtePolicy(), SelectionConfig()
    recommend(chain.head(50), SETUPS, dict(list(contexts.items())[:2]), AS_OF)  # warm imports/caches

    # Best of N for both: on a shared machine one slow sample says more about the neighbours.
    fast_s = slow_s = float("inf")
    for _ in range(max(args.repeat, 1)):
        clear_caches()  # value caches (Decimal conversions, "$" strings) would make repeats unfairly warm
        start = time.perf_counter()
        fast = recommend(chain, SETUPS, contexts, AS_OF, policy=policy, config=config)
        fast_s = min(fast_s, time.perf_counter() - start)
        start = time.perf_counter()
        slow = naive_recommend(chain_records(chain), SETUPS, contexts, AS_OF, policy, config)
        slow_s = min(slow_s, time.perf_counter() - start)

    checked = check_identical(fast, slow)
    n = len(contexts)
    print(
        f"chain: {len(chain)} contracts over {chain['expiration_date'].nunique()} expirations; "
        f"{n} risk contexts x {len(SETUPS)} setups; {checked} recommendations identical"
    )
    print(f"{'implementation':<28}{'total s':>10}{'ms / context':>15}{'ratio':>9}")
    print(f"{'naive row-by-row loop':<28}{slow_s:>10.3f}{slow_s / n * 1000:>15.3f}{1.0:>9.1f}")
    print(f"{'vectorized recommend()':<28}{fast_s:>10.3f}{fast_s / n * 1000:>15.3f}{slow_s / fast_s:>9.1f}")


if __name__ == "__main__":
    main()
