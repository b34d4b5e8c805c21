"""Tradier REST client: typed endpoints, retries, per-token rate limits, multi-account balances.

Import from here; the submodules are an implementation layout (transport, ratelimit, normalize,
models, errors, many) that may move.
"""

from spx_pipeline.broker.tradier.client import (
    LIVE_BASE_URL,
    SANDBOX_BASE_URL,
    TradierClient,
    chain_frame,
    resolve_base_url,
)
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
    TradierServerError,
    TradierTimeoutError,
)
from spx_pipeline.broker.tradier.many import AccountCredential, BalanceResult, fetch_balances_many
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
from spx_pipeline.broker.tradier.ratelimit import (
    DEFAULT_REGISTRY,
    FixedWindowLimiter,
    RateLimiterRegistry,
    bucket_for,
)
from spx_pipeline.broker.tradier.transport import DEFAULT_TIMEOUT, NO_RETRY, RetryPolicy

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_TIMEOUT",
    "LIVE_BASE_URL",
    "NO_RETRY",
    "SANDBOX_BASE_URL",
    "Account",
    "AccountCredential",
    "AmbiguousOrderError",
    "BalanceResult",
    "Balances",
    "CalendarDay",
    "CashBalances",
    "Clock",
    "FixedWindowLimiter",
    "LiveTradingNotAllowedError",
    "MarginBalances",
    "Order",
    "OrderPreview",
    "OrderResult",
    "PdtBalances",
    "Position",
    "Profile",
    "RateLimiterRegistry",
    "RetryPolicy",
    "SessionHours",
    "TradierAuthError",
    "TradierBadRequestError",
    "TradierClient",
    "TradierConnectionError",
    "TradierError",
    "TradierMalformedResponseError",
    "TradierNotFoundError",
    "TradierOrderRejectedError",
    "TradierRateLimitError",
    "TradierServerError",
    "TradierTimeoutError",
    "bucket_for",
    "chain_frame",
    "fetch_balances_many",
    "resolve_base_url",
]
