"""``TradierClient``: typed endpoints over the transport, with sandbox-by-default host selection.

Endpoints are thin: build the request, hand it to the transport (retries, pacing, typed errors),
and read the body into ``models``. Orders are the domain's request models (or forms read by the
same rules) and carry two safety rules: writes are never retried, and an ambiguous placement
(maybe sent, no answer) becomes an ``AmbiguousOrderError`` that points at ``find_orders_by_tag``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Unpack

from spx_pipeline.broker.secrets import SecretToken
from spx_pipeline.broker.tradier import normalize
from spx_pipeline.broker.tradier.errors import (
    AmbiguousOrderError,
    TradierConnectionError,
    TradierError,
    TradierMalformedResponseError,
    TradierServerError,
    TradierTimeoutError,
)
from spx_pipeline.broker.tradier.hosts import resolve_base_url
from spx_pipeline.broker.tradier.models import (
    Balances,
    CalendarDay,
    Clock,
    Order,
    OrderPreview,
    OrderResult,
    Position,
    Profile,
)
from spx_pipeline.broker.tradier.option_chain import chain_frame, screen_chain_rows
from spx_pipeline.broker.tradier.transport import Transport, TransportOptions
from spx_pipeline.domain.accounts import validate_account_id
from spx_pipeline.domain.orders import order_changes
from spx_pipeline.domain.tradier.order_requests import OrderRequest, read_order_form
from spx_pipeline.domain.tradier.order_rules import check_tag
from spx_pipeline.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

_MODIFIABLE: Final = frozenset({"type", "duration", "price", "stop"})
_QUOTES_GET_MAX_CHARS: Final = 1000


class TradierClient:
    """One token, one host, one pooled Session. Thread-safe for concurrent reads.

    ``token`` may be a plain ``str``; it is wrapped in ``SecretToken`` immediately so the clear value
    is never an attribute of the client.
    """

    def __init__(
        self,
        token: SecretToken | str,
        *,
        base_url: str | None = None,
        allow_live: bool | None = None,
        environ: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        **transport: Unpack[TransportOptions],
    ) -> None:
        """``transport``: timeouts, retries, pooling, pacing and a session, as ``Transport`` takes them;
        ``settings``: the environment already read (a sync reads it once for all its clients)."""
        self.token = token if isinstance(token, SecretToken) else SecretToken(token)
        self.base_url = resolve_base_url(base_url, allow_live=allow_live, environ=environ, settings=settings)
        self.transport = Transport(self.base_url, self.token, **transport)

    @classmethod
    def from_env(
        cls, token: SecretToken | str, *, environ: Mapping[str, str] | None = None, **kwargs: Any
    ) -> TradierClient:
        """Host from ``TRADIER_BASE_URL`` (sandbox if unset), live only with ``TRADIER_ALLOW_LIVE``."""
        settings = Settings.from_env(environ)
        return cls(
            token,
            base_url=settings.tradier_base_url,
            allow_live=settings.allow_live.enabled,
            environ=environ,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"TradierClient(base_url={self.base_url!r}, token={self.token!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> TradierClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounts -------------------------------------------------------------------------------

    def get_profile(self) -> Profile:
        return Profile.from_json(self.transport.request("GET", "/user/profile"))

    def get_user_balances(self) -> list[Balances]:
        """All accounts behind the token in one request (Tradier's preferred way over N calls)."""
        body = self.transport.request("GET", "/user/balances")
        result: list[Balances] = []
        for index, item in enumerate(normalize.collection(body, "accounts", "account")):
            if not isinstance(item, Mapping):
                raise TradierMalformedResponseError(f"accounts.account[{index}] is {type(item).__name__}")
            number = normalize.opt_str(
                item.get("account_number"), field=f"accounts.account[{index}].account_number"
            )
            balances = item.get("balances", item)
            if not isinstance(balances, Mapping):
                raise TradierMalformedResponseError(
                    f"accounts.account[{index}].balances for {number} is {balances!r:.40}, not an object"
                )
            result.append(Balances.from_json(balances, account_number=number))
        return result

    def get_balances(self, account_id: str) -> Balances:
        account_id = validate_account_id(account_id)
        body = self.transport.request("GET", f"/accounts/{account_id}/balances")
        return Balances.from_json(normalize.member(body, "balances"), account_number=account_id)

    def get_positions(self, account_id: str) -> list[Position]:
        account_id = validate_account_id(account_id)
        body = self.transport.request("GET", f"/accounts/{account_id}/positions")
        return [Position.from_json(item) for item in normalize.collection(body, "positions", "position")]

    def list_orders(
        self, account_id: str, include_tags: bool = True, *, page: int | None = None
    ) -> list[Order]:
        account_id = validate_account_id(account_id)
        params = {"includeTags": _bool(include_tags)}
        if page is not None:
            params["page"] = str(page)
        body = self.transport.request("GET", f"/accounts/{account_id}/orders", params=params)
        return [Order.from_json(item) for item in normalize.collection(body, "orders", "order")]

    def list_all_orders(
        self, account_id: str, include_tags: bool = True, *, max_pages: int = 50
    ) -> list[Order]:
        """Every page of the account's orders: ``page=1, 2, ...`` until a page brings nothing new.

        Tradier answers a page past the end with ``"null"``; a server that ignores ``page`` repeats
        the first page, which also ends the walk. Reconciliation and placement must see every order
        (a tag on page 2 is still a tag that must never be sent again).
        """
        seen: set[object] = set()
        found: list[Order] = []
        for page in range(1, max_pages + 1):
            batch = self.list_orders(account_id, include_tags, page=page)
            fresh = [order for order in batch if (order.id, order.tag) not in seen]
            if not fresh:
                break
            seen.update((order.id, order.tag) for order in fresh)
            found.extend(fresh)
        return found

    def get_order(self, account_id: str, order_id: int | str) -> Order:
        account_id = validate_account_id(account_id)
        body = self.transport.request(
            "GET", f"/accounts/{account_id}/orders/{_order_id(order_id)}", params={"includeTags": "true"}
        )
        return Order.from_json(normalize.member(body, "order"))

    def find_orders_by_tag(self, account_id: str, tag: str) -> list[Order]:
        """Orders carrying ``tag`` (newest id last): the reconciliation step after an ambiguous POST."""
        check_tag(tag)
        found = [order for order in self.list_all_orders(account_id, include_tags=True) if order.tag == tag]
        return sorted(found, key=lambda order: order.id or 0)

    # -- orders ---------------------------------------------------------------------------------

    def place_order(
        self,
        account_id: str,
        order: OrderRequest | Mapping[str, str],
        *,
        preview: bool = False,
        reconcile_by_tag: bool = False,
    ) -> OrderResult | OrderPreview:
        """POST a form-encoded order; never retried unless ``preview`` (which sends nothing to market).

        ``order`` is a request model or a form (``domain.orders`` payloads); a form is read by the
        same rules as the model (``read_order_form``) and what is sent is the checked request's own
        form, so nothing unchecked leaves. A refusal raises ``OrderPayloadError`` before any request.

        On a failure after the request may have left (read timeout, reset, 5xx) an order with a
        ``tag`` raises ``AmbiguousOrderError``; with ``reconcile_by_tag=True`` the client first looks
        the tag up once and returns the existing order (``reconciled=True``) when it is there. An HTTP
        200 whose body cannot be parsed counts as ambiguous too: Tradier received the order.
        Errors in an HTTP 200 body raise ``TradierOrderRejectedError``.
        """
        account_id = validate_account_id(account_id)
        form = _order_request(order).to_form()
        preview = preview or form.pop("preview", None) == "true"
        path = f"/accounts/{account_id}/orders"
        if preview:
            form["preview"] = "true"
            return OrderPreview.from_json(
                self.transport.request("POST", path, data=form, kind="order", retry=True)
            )
        tag = form.get("tag")
        try:
            body = self.transport.request("POST", path, data=form, kind="order", retry=False)
            return OrderResult.from_json(body)
        except (
            TradierTimeoutError,
            TradierConnectionError,
            TradierServerError,
            # A 200 whose body cannot be read: the order reached Tradier and may well be live.
            TradierMalformedResponseError,
        ) as exc:
            if exc.maybe_sent is False or tag is None:
                raise
            ambiguous = AmbiguousOrderError(
                f"order with tag {tag!r} may or may not have been placed "
                f"({type(exc).__name__}: {exc.message}); "
                f"call find_orders_by_tag({account_id!r}, {tag!r}) before resending",
                tag=tag,
                account_id=account_id,
                status=exc.status,
                method="POST",
                path=path,
            )
            if not reconcile_by_tag:
                raise ambiguous from None
            return self._reconcile(account_id, tag, ambiguous)

    def _reconcile(self, account_id: str, tag: str, ambiguous: AmbiguousOrderError) -> OrderResult:
        try:
            found = self.find_orders_by_tag(account_id, tag)
        except TradierError as lookup_error:
            note = f"reconciliation lookup failed too ({type(lookup_error).__name__}: {lookup_error.message})"
            raise ambiguous.noting(note) from None
        if not found:
            raise ambiguous.noting("no order carries the tag yet (it may still appear)") from None
        order = found[-1]
        return OrderResult(id=order.id, status=order.status, reconciled=True, raw=order.raw)

    def preview_order(self, account_id: str, order: OrderRequest | Mapping[str, str]) -> OrderPreview:
        result = self.place_order(account_id, order, preview=True)
        assert isinstance(result, OrderPreview)
        return result

    def modify_order(self, account_id: str, order_id: int | str, **changes: object) -> OrderResult:
        """PUT only what changes (type, duration, price, stop); quantity cannot be modified.

        The changes pass the domain's order rules (``domain.orders.order_changes``: prices on the SPX
        tick grid, a type consistent with its prices, never ``market``) before anything is sent.
        """
        account_id = validate_account_id(account_id)
        unknown = sorted(set(changes) - _MODIFIABLE)
        if unknown:
            raise ValueError(f"modify_order cannot change {unknown}; allowed: {sorted(_MODIFIABLE)}")
        form = order_changes(
            order_type=changes.get("type"),
            duration=changes.get("duration"),
            price=changes.get("price"),
            stop=changes.get("stop"),
        )
        body = self.transport.request(
            "PUT",
            f"/accounts/{account_id}/orders/{_order_id(order_id)}",
            data=form,
            kind="order",
            retry=False,
        )
        return OrderResult.from_json(body)

    def cancel_order(self, account_id: str, order_id: int | str) -> OrderResult:
        account_id = validate_account_id(account_id)
        body = self.transport.request(
            "DELETE", f"/accounts/{account_id}/orders/{_order_id(order_id)}", kind="order", retry=False
        )
        return OrderResult.from_json(body)

    # -- market data ----------------------------------------------------------------------------

    def get_option_expirations(
        self, symbol: str, include_all_roots: bool = True, strikes: bool = False
    ) -> list[date]:
        """Sorted expiration dates; ``include_all_roots`` is what surfaces SPXW weeklies under SPX."""
        params = {
            "symbol": _symbol(symbol),
            "includeAllRoots": _bool(include_all_roots),
            "strikes": _bool(strikes),
        }
        body = self.transport.request("GET", "/markets/options/expirations", params=params)
        container = body.get("expirations")
        if normalize.is_empty(container):
            return []
        if not isinstance(container, Mapping):
            raise TradierMalformedResponseError(f"expirations is {container!r:.60}, not an object")
        raw_dates: list[Any] = list(normalize.as_list(container.get("date"), field="expirations.date"))
        for item in normalize.as_list(container.get("expiration"), field="expirations.expiration"):
            raw_dates.append(_obj(item, "expirations.expiration").get("date"))
        dates = {normalize.opt_date(value, field="expirations.date") for value in raw_dates}
        return sorted(d for d in dates if d is not None)

    def get_option_chain(
        self, symbol: str, expiration: date | str, greeks: bool = True
    ) -> list[dict[str, Any]]:
        """Chain rows as dicts: Decimal numbers, ``"null"`` → None, ``greeks`` a dict or None."""
        params = {"symbol": _symbol(symbol), "expiration": _iso_date(expiration), "greeks": _bool(greeks)}
        body = self.transport.request("GET", "/markets/options/chains", params=params)
        rows = []
        for item in normalize.collection(body, "options", "option"):
            row = normalize.clean(dict(_obj(item, "options.option")))
            if not isinstance(row.get("greeks"), Mapping):
                row["greeks"] = None
            rows.append(row)
        return rows

    def option_chain_frame(self, symbol: str, expiration: date | str, greeks: bool = True) -> pd.DataFrame:
        """The chain as a frame, without the contracts ``screen_chain_rows`` skips."""
        return self.screened_chain_frame(symbol, expiration, greeks=greeks)[0]

    def screened_chain_frame(
        self, symbol: str, expiration: date | str, greeks: bool = True
    ) -> tuple[pd.DataFrame, list[str]]:
        """The chain as a frame, and why each contract left out was skipped (a non-finite number...)."""
        screened = screen_chain_rows(self.get_option_chain(symbol, expiration, greeks=greeks))
        return chain_frame(screened.rows), screened.skipped

    def get_quotes(self, symbols: str | Sequence[str], greeks: bool = False) -> list[dict[str, Any]]:
        """Quotes for equities/indexes/OCC symbols; long lists go as a POST form (still a read)."""
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        joined = ",".join(_symbol(s) for s in names)
        if not joined:
            raise ValueError("get_quotes needs at least one symbol")
        params = {"symbols": joined, "greeks": _bool(greeks)}
        if len(joined) > _QUOTES_GET_MAX_CHARS:
            body = self.transport.request("POST", "/markets/quotes", data=params, retry=True)
        else:
            body = self.transport.request("GET", "/markets/quotes", params=params)
        return [
            normalize.clean(dict(_obj(q, "quotes.quote")))
            for q in normalize.collection(body, "quotes", "quote")
        ]

    def get_clock(self) -> Clock:
        return Clock.from_json(self.transport.request("GET", "/markets/clock"))

    def get_calendar(self, month: int, year: int) -> list[CalendarDay]:
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1..12, got {month!r}")
        if not 1900 <= year <= 2200:
            raise ValueError(f"year must be a four-digit year, got {year!r}")
        body = self.transport.request(
            "GET", "/markets/calendar", params={"month": str(month), "year": str(year)}
        )
        calendar = normalize.member(body, "calendar")
        days = normalize.collection(calendar, "days", "day")
        return [CalendarDay.from_json(_obj(day, "calendar.days.day")) for day in days]


def _order_request(order: OrderRequest | Mapping[str, str]) -> OrderRequest:
    """A request model as it is, or a form of text fields read by the request rules."""
    if not isinstance(order, Mapping):
        return order
    if not order:
        raise ValueError("order payload must be a non-empty mapping of Tradier form fields")
    for key, value in order.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"order payload field {key!r} must map str to str, got {type(value).__name__} {value!r}"
            )
    if "preview" in order:
        raise ValueError("order payload must not carry 'preview'; use preview=True / preview_order()")
    return read_order_form(order)


def _order_id(order_id: int | str) -> str:
    text = str(order_id)
    if isinstance(order_id, bool) or not text.isdigit():
        raise ValueError(f"order_id must be a positive integer, got {order_id!r}")
    return text


def _symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z0-9.^/_-]{1,32}", symbol.strip()):
        raise ValueError(f"symbol must be 1-32 symbol characters, got {symbol!r}")
    return symbol.strip().upper()


def _iso_date(value: date | str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"expiration must be a date or YYYY-MM-DD, got {value!r}") from None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _obj(item: object, where: str) -> Mapping[str, Any]:
    if not isinstance(item, Mapping):
        raise TradierMalformedResponseError(f"{where} is {type(item).__name__} {item!r:.60}, not an object")
    return item
