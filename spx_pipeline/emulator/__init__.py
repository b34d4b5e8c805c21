"""Local Tradier-compatible HTTP server (loopback only) with deterministic data and fault injection.

Nobody working on this project can reach Tradier, so tests, benches and the demo run against
this server; it reproduces the wire quirks (XML by default, single-element collapse, "null"
collections, errors inside HTTP 200, per-token rate-limit windows) that clients must survive.
"""

from spx_pipeline.emulator.config import (
    EmulatedAccount,
    EmulatedPosition,
    EmulatorConfig,
    FaultConfig,
    demo_accounts,
    make_accounts,
)
from spx_pipeline.emulator.server import RequestRecord, TradierEmulator

__all__ = [
    "EmulatedAccount",
    "EmulatedPosition",
    "EmulatorConfig",
    "FaultConfig",
    "RequestRecord",
    "TradierEmulator",
    "demo_accounts",
    "make_accounts",
]
