"""``spx-pipeline limits``, ``trades`` and ``place``: what an operator's scripts rely on."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from decimal import Decimal

import pytest

from spx_pipeline.storage.app.limits import LimitStore
from spx_pipeline_tests.fixtures.processes import InvokeCli, clean_cli_env
from spx_pipeline_tests.fixtures.simulation import PDT
from spx_pipeline_tests.fixtures.trading import Desk

PLAN_KEYS = {
    "trade_id", "leg", "option_symbol", "side", "quantity", "order_type", "price", "stop_price",
    "opening_notional", "action", "reason",
}  # fmt: skip


def desk_cli_env(desk: Desk) -> dict[str, str]:
    env = desk.env
    return clean_cli_env(
        SPX_APP_DB_URL=env.app_db_url,
        SPX_CREDENTIALS_KEY=env.key,
        SPX_WAREHOUSE_PATH=str(env.warehouse_path),
        TRADIER_BASE_URL=env.emulator.base_url,
        SPX_NOW=env.clock.now().isoformat(),
    )


def test_limits_are_set_listed_and_refused_in_one_line(desk: Desk, invoke_cli: InvokeCli) -> None:
    env = desk_cli_env(desk)
    done = invoke_cli("limits", "set", "--account-id", PDT, "--max-daily-risk", "3000", env=env)
    assert done.returncode == 0, done.stderr
    assert "$3,000.00" in done.stdout
    args = ["--account-id", PDT, "--max-daily-risk", "2,500", "--max-trade-risk", "900"]
    kept = invoke_cli("limits", "set", *args, env=env)
    assert kept.returncode == 0, kept.stderr
    listed = invoke_cli("limits", "list", "--format", "json", env=env)
    [row] = json.loads(listed.stdout)
    assert row["account_id"] == PDT
    assert Decimal(row["max_daily_risk"]) == Decimal(2500) and Decimal(row["max_trade_risk"]) == Decimal(900)
    for bad, needle in (("-5", "must not be negative"), ("lots", "not a number"), ("nan", "finite")):
        refused = invoke_cli("limits", "set", "--account-id", PDT, "--max-daily-risk", bad, env=env)
        assert refused.returncode == 2
        assert needle in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    wrong = invoke_cli("limits", "set", "--account-id", "not an id", "--max-daily-risk", "1", env=env)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr


def test_a_stored_limit_binds_every_run_and_run_config_may_only_lower_it(desk: Desk) -> None:
    LimitStore(desk.env.app_db()).set(PDT, max_daily_risk=Decimal(800), max_trade_risk=Decimal(800))
    desk.pipeline(max_risk_dollars=100_000.0, max_daily_risk_dollars=100_000.0)  # cannot raise it
    rows = desk.env.warehouse().query(
        "SELECT setup_id, suggested_contracts, suggested_cost, binding_constraint "
        "FROM published.contract_recommendations WHERE account_id = ? AND run_id = "
        "(SELECT max_by(run_id, generated_at) FROM published.contract_recommendations)",
        [PDT],
    )
    stops = {"bull-stop": Decimal(2), "bear-stop": Decimal(1)}
    for row in rows.itertuples():
        risk = Decimal(str(row.suggested_cost)) - row.suggested_contracts * stops[row.setup_id] * 100
        assert risk <= 800, row  # the stored per-trade and daily limits, not the run's 100,000
    assert set(rows["binding_constraint"]) & {"max_risk", "max_daily_risk", "no_contract"}


def test_place_json_holds_only_the_plan_then_places_what_it_showed(desk: Desk, invoke_cli: InvokeCli) -> None:
    env = desk_cli_env(desk)
    dry = invoke_cli("place", "--account-id", PDT, "--dry-run", "--format", "json", env=env)
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)  # nothing else on stdout
    assert set(plan) == {"confirm_phrase", "orders"}
    assert plan["orders"] and all(set(order) >= PLAN_KEYS for order in plan["orders"])
    places = [o for o in plan["orders"] if o["action"] == "place"]
    assert plan["confirm_phrase"] == f"PLACE {len(places)}"
    assert all(o["action"] in ("place", "wait", "skip", "already_at_broker") for o in plan["orders"])
    assert desk.broker_orders(PDT) == []
    wrong = invoke_cli("place", "--account-id", PDT, "--confirm", "PLACE 99", "--format", "json", env=env)
    assert wrong.returncode == 2 and wrong.stdout == "" and "PLACE 99" in wrong.stderr
    sent = invoke_cli(
        "place", "--account-id", PDT, "--confirm", plan["confirm_phrase"], "--format", "json", env=env
    )
    assert sent.returncode == 0, sent.stderr
    orders = json.loads(sent.stdout)["orders"]
    assert {o["status"] for o in orders if o["action"] == "place"} == {"placed"}
    assert len(desk.tags(PDT)) == len(places)
    again = invoke_cli("place", "--account-id", PDT, "--dry-run", "--format", "json", env=env)
    assert json.loads(again.stdout)["confirm_phrase"] == "PLACE 0"  # everything is at the broker
    table = invoke_cli("trades", "list", "--account-id", PDT, env=env)
    assert (table.returncode == 0 and "entry_working" in table.stdout) or "open" in table.stdout
    listed = json.loads(
        invoke_cli("trades", "list", "--format", "json", "--session", "2026-11-24", env=env).stdout
    )
    assert {"trade_id", "state", "risk_committed", "realized_pnl", "planned_quantity"} <= set(listed[0])
    bad = invoke_cli("trades", "list", "--session", "24/11/2026", env=env)
    assert bad.returncode == 2 and "--session" in bad.stderr


@pytest.mark.e2e
def test_two_placements_at_the_same_moment_never_send_a_tag_twice(desk: Desk) -> None:
    env = desk_cli_env(desk)
    phrase = json.loads(
        subprocess.run(
            [sys.executable, "-m", "spx_pipeline.cli", "place", "--account-id", PDT, "--dry-run", "--format",
             "json"],
            env=env, capture_output=True, text=True, check=True, timeout=120,
        ).stdout
    )["confirm_phrase"]  # fmt: skip
    gate = threading.Barrier(2)
    results: list[subprocess.CompletedProcess[str]] = []

    def place() -> None:
        gate.wait(timeout=60)
        results.append(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "spx_pipeline.cli",
                    "place",
                    "--account-id",
                    PDT,
                    "--confirm",
                    phrase,
                    "--format",
                    "json",
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
        )

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert len(results) == 2
    assert any(r.returncode == 0 for r in results), [r.stderr for r in results]
    for result in results:  # the other may refuse (its plan changed) or lose its claims: never a traceback
        assert "Traceback" not in result.stderr, result.stderr
    tags = desk.tags(PDT)
    assert tags and len(tags) == len(set(tags))
