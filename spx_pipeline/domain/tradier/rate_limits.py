"""Tradier's per-token quotas: which bucket a request counts against, and each bucket's size.

Tradier counts requests per access token in one-minute windows, separately for standard
(account) reads, market data and trading (order writes). The client paces itself by these and the
local server enforces them, so both read the buckets and sizes from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class Bucket(StrEnum):
    STANDARD = "standard"
    MARKET_DATA = "market_data"
    TRADING = "trading"


LIVE_LIMITS: Final[Mapping[Bucket, int]] = {Bucket.STANDARD: 120, Bucket.MARKET_DATA: 120, Bucket.TRADING: 60}
SANDBOX_LIMITS: Final[Mapping[Bucket, int]] = {
    Bucket.STANDARD: 60,
    Bucket.MARKET_DATA: 60,
    Bucket.TRADING: 60,
}
WINDOW_SECONDS: Final = 60.0


def bucket_for(method: str, path: str) -> Bucket:
    """The bucket of a request, for paths with or without the ``/v1`` prefix.

    ``/markets/*`` is market data; placing, modifying and cancelling orders is trading; everything
    else (account reads, ``/user``, ``/watchlists``) is standard.
    """
    clean = "/" + path.lstrip("/")
    if clean.startswith("/v1/"):
        clean = clean[3:]
    if clean.startswith("/markets"):
        return Bucket.MARKET_DATA
    if method.upper() in {"POST", "PUT", "DELETE"} and clean.startswith("/accounts/") and "/orders" in clean:
        return Bucket.TRADING
    return Bucket.STANDARD
