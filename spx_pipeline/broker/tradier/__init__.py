"""Tradier REST client: typed endpoints, retries, per-token rate limits, multi-account balances.

Import from here; the submodules are an implementation layout that may move. In the manner of
alpaca-py: the vocabulary (``Side``, ``OrderType``, ``Duration``, ``OrderClass``, ``AccountType``,
``OrderStatus``) and the order requests (``OptionOrderRequest``, ``OcoOrderRequest``,
``ModifyOrderRequest``) live in ``spx_pipeline.domain.tradier``, because the local Tradier server
reads orders by the same rules and may import only the domain; the response records are
``models``, read through the field types of ``fields``. ``hosts`` decides where a token may go,
``transport`` sends (retries, pacing, redaction), ``account_sync`` asks many accounts at once
(``balance_sync`` for balances).
"""

from spx_pipeline.broker.tradier.account_sync import AccountCredential, AccountResult, fetch_each_account
from spx_pipeline.broker.tradier.balance_sync import BalanceResult, fetch_balances_many
from spx_pipeline.broker.tradier.client import TradierClient
from spx_pipeline.broker.tradier.errors import (
    AmbiguousOrderError,
    LiveTradingNotAllowedError,
    TradierAuthError,
    TradierBadRequestError,
    TradierConnectionError,
    TradierError,
    TradierMalformedResponseError,
    TradierNotFoundError,
    TradierOrderRejectedError,
    TradierRateLimitError,
    TradierRequestError,
    TradierServerError,
    TradierTimeoutError,
)
from spx_pipeline.broker.tradier.hosts import LIVE_BASE_URL, SANDBOX_BASE_URL, resolve_base_url
from spx_pipeline.broker.tradier.models import (
    Account,
    Balances,
    CalendarDay,
    CashBalances,
    Clock,
    MarginBalances,
    Order,
    OrderPreview,
    OrderResult,
    PdtBalances,
    Position,
    Profile,
    SessionHours,
)
from spx_pipeline.broker.tradier.option_chain import chain_frame
from spx_pipeline.broker.tradier.ratelimit import (
    DEFAULT_REGISTRY,
    FixedWindowLimiter,
    RateLimiterRegistry,
    bucket_for,
)
from spx_pipeline.broker.tradier.transport import DEFAULT_TIMEOUT, NO_RETRY, RetryPolicy
from spx_pipeline.domain.tradier.enums import AccountType, Duration, OrderClass, OrderStatus, OrderType, Side
from spx_pipeline.domain.tradier.order_requests import (
    ModifyOrderRequest,
    OcoOrderRequest,
    OptionLeg,
    OptionOrderRequest,
)
from spx_pipeline.domain.tradier.order_rules import OrderPayloadError

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_TIMEOUT",
    "LIVE_BASE_URL",
    "NO_RETRY",
    "SANDBOX_BASE_URL",
    "Account",
    "AccountCredential",
    "AccountResult",
    "AccountType",
    "AmbiguousOrderError",
    "BalanceResult",
    "Balances",
    "CalendarDay",
    "CashBalances",
    "Clock",
    "Duration",
    "FixedWindowLimiter",
    "LiveTradingNotAllowedError",
    "MarginBalances",
    "ModifyOrderRequest",
    "OcoOrderRequest",
    "OptionLeg",
    "OptionOrderRequest",
    "Order",
    "OrderClass",
    "OrderPayloadError",
    "OrderPreview",
    "OrderResult",
    "OrderStatus",
    "OrderType",
    "PdtBalances",
    "Position",
    "Profile",
    "RateLimiterRegistry",
    "RetryPolicy",
    "SessionHours",
    "Side",
    "TradierAuthError",
    "TradierBadRequestError",
    "TradierClient",
    "TradierConnectionError",
    "TradierError",
    "TradierMalformedResponseError",
    "TradierNotFoundError",
    "TradierOrderRejectedError",
    "TradierRateLimitError",
    "TradierRequestError",
    "TradierServerError",
    "TradierTimeoutError",
    "bucket_for",
    "chain_frame",
    "fetch_balances_many",
    "fetch_each_account",
    "resolve_base_url",
]
