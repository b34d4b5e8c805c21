"""The route table the handlers join: every endpoint once, matched by method and whole path."""

from __future__ import annotations

import pytest

from spx_pipeline.emulator.endpoints import ROUTES, markets, orders
from spx_pipeline.emulator.routing import RouteTable


def test_every_endpoint_module_has_joined_the_table_once() -> None:
    routes = [(method, pattern.pattern) for method, pattern, _ in ROUTES]
    assert len(routes) == len(set(routes)) == 15
    assert ("POST", r"^/v1/accounts/([^/]+)/orders$") in routes


def test_a_path_goes_to_its_handler_with_the_captured_ids() -> None:
    found = ROUTES.match("PUT", "/v1/accounts/VA1/orders/42")
    assert found is not None
    handler, match = found
    assert handler is orders.modify_order and match.groups() == ("VA1", "42")
    for method in ("GET", "POST"):
        quotes = ROUTES.match(method, "/v1/markets/quotes")
        assert quotes is not None and quotes[0] is markets.quotes
    assert ROUTES.match("PATCH", "/v1/accounts/VA1/orders/42") is None
    assert ROUTES.match("GET", "/v1/accounts/VA1/orders/42/extra") is None


def test_a_second_handler_for_a_route_is_refused() -> None:
    table = RouteTable()
    table.add("GET", r"^/v1/x$")(markets.clock)
    with pytest.raises(ValueError, match="already has a handler"):
        table.add("GET", r"^/v1/x$")(markets.calendar)
    table.add("POST", r"^/v1/x$")(markets.calendar)  # another method is another route
    assert [h for _, _, h in table] == [markets.clock, markets.calendar]
