"""Endpoint handlers by area, each module with its route table; ``ROUTES`` is all of them."""

from __future__ import annotations

from spx_pipeline.emulator.endpoints import accounts, markets, orders
from spx_pipeline.emulator.routing import Route

ROUTES: tuple[Route, ...] = (*accounts.ROUTES, *orders.ROUTES, *markets.ROUTES)
