"""Endpoint handlers by area; importing them joins every handler to ``ROUTES``, the one route table."""

from __future__ import annotations

from spx_pipeline.emulator.endpoints import accounts, markets, orders
from spx_pipeline.emulator.routing import ROUTES

__all__ = ["ROUTES", "accounts", "markets", "orders"]
