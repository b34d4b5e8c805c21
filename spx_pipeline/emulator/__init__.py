"""Local Tradier-compatible HTTP server (loopback only) with deterministic data and fault injection.

Nobody working on this project can reach Tradier, so tests, benches and the demo run against
this server; it reproduces the wire quirks (XML by default, single-element collapse, "null"
collections, errors inside HTTP 200, per-token rate-limit windows) that clients must survive.

    with TradierEmulator(EmulatorConfig(faults=FaultConfig(fail_5xx=2))) as emu:
        client = TradierClient("demo-margin-token-0001", base_url=emu.base_url)
        ...
        assert emu.request_count("/accounts/VA00000001/balances") == 3

With ``EmulatorConfig(simulation=SimulationConfig(seed=...))`` the market moves along a seeded
path and orders fill against it, lazily up to the clock's instant (rules in ``fills.py``).

In tests use the ``tradier_emulator`` / ``tradier_emulator_factory`` / ``simulated_tradier`` fixtures
(spx_pipeline_tests/fixtures/tradier.py); by hand run ``spx-pipeline tradier-emulator``.
Choices where Tradier's behaviour is unverified are listed under "emulator" in docs/architecture.md.
"""

from spx_pipeline.emulator.config import (
    AccountRow,
    EmulatedAccount,
    EmulatedPosition,
    EmulatorConfig,
    FaultConfig,
    SimulationConfig,
    account_from_row,
    demo_accounts,
    make_accounts,
)
from spx_pipeline.emulator.fills import FillRecord
from spx_pipeline.emulator.server import RequestRecord, TradierEmulator

__all__ = [
    "AccountRow",
    "EmulatedAccount",
    "EmulatedPosition",
    "EmulatorConfig",
    "FaultConfig",
    "FillRecord",
    "RequestRecord",
    "SimulationConfig",
    "TradierEmulator",
    "account_from_row",
    "demo_accounts",
    "make_accounts",
]
