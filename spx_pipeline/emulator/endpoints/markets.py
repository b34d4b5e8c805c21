"""``/markets/*``: expirations, chains, quotes, clock and calendar of the simulated SPX market."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from spx_pipeline.domain import market_calendar
from spx_pipeline.domain.occ import parse_option_symbol
from spx_pipeline.emulator.response_format import collection
from spx_pipeline.emulator.routing import ROUTES, ApiError, Call, required

if TYPE_CHECKING:
    from spx_pipeline.emulator.core import EmulatorCore


@ROUTES.add("GET", r"^/v1/markets/options/expirations$")
def expirations(emu: EmulatorCore, call: Call) -> Any:
    symbol = required(call, "symbol")
    market = emu.market
    dates = market.expirations(symbol, include_all_roots=call.flag("includeAllRoots"))
    if not dates:
        return {"expirations": "null"}
    if call.flag("strikes"):
        rows = [{"date": d.isoformat(), "strikes": {"strike": collection(market.strikes)}} for d in dates]
        return {"expirations": {"expiration": collection(rows)}}
    return {"expirations": {"date": collection([d.isoformat() for d in dates])}}


@ROUTES.add("GET", r"^/v1/markets/options/chains$")
def chains(emu: EmulatorCore, call: Call) -> Any:
    symbol = required(call, "symbol")
    raw = required(call, "expiration")
    try:
        expiration = date.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(400, f"expiration must be YYYY-MM-DD, got {raw!r}") from exc
    rows = emu.market.chain(symbol, expiration, greeks=call.flag("greeks"))
    return {"options": {"option": collection(rows)} if rows else "null"}


@ROUTES.add("GET", r"^/v1/markets/quotes$")
@ROUTES.add("POST", r"^/v1/markets/quotes$")
def quotes(emu: EmulatorCore, call: Call) -> Any:
    raw = required(call, "symbols")
    greeks = call.flag("greeks")
    market = emu.market
    found: list[dict[str, Any]] = []
    unmatched: list[str] = []
    for symbol in (s.strip().upper() for s in raw.split(",")):
        if not symbol:
            continue
        if symbol == "SPX":
            found.append(market.index_quote())
            continue
        try:
            quote = market.option_quote(parse_option_symbol(symbol), greeks=greeks)
        except ValueError:
            quote = None
        if quote is None:
            unmatched.append(symbol)
        else:
            found.append(quote)
    body: dict[str, Any] = {}
    if found:
        body["quote"] = collection(found)
    if unmatched:
        body["unmatched_symbols"] = {"symbol": collection(unmatched)}
    return {"quotes": body or "null"}


@ROUTES.add("GET", r"^/v1/markets/clock$")
def clock(emu: EmulatorCore, call: Call) -> Any:
    return emu.hours.clock(emu.now())


@ROUTES.add("GET", r"^/v1/markets/calendar$")
def calendar(emu: EmulatorCore, call: Call) -> Any:
    now = emu.now().astimezone(market_calendar.NEW_YORK)
    month_raw = call.param("month") or str(now.month)
    year_raw = call.param("year") or str(now.year)
    if not month_raw.isdigit() or not 1 <= int(month_raw) <= 12:
        raise ApiError(400, f"month must be 1-12, got {month_raw!r}")
    if not year_raw.isdigit():
        raise ApiError(400, f"year must be a 4-digit year, got {year_raw!r}")
    month, year = int(month_raw), int(year_raw)
    try:
        days = emu.hours.calendar_days(year, month)
    except (ValueError, KeyError) as exc:
        raise ApiError(400, f"no calendar for {year}-{month:02d}: {exc}") from exc
    return {"calendar": {"month": month, "year": year, "days": {"day": collection(days)}}}
