"""One bucket map for the client's pacing and the local server's quotas."""

from __future__ import annotations

import pytest

from spx_pipeline.domain.tradier.rate_limits import LIVE_LIMITS, SANDBOX_LIMITS, Bucket, bucket_for


@pytest.mark.parametrize("prefix", ["", "/v1"])
@pytest.mark.parametrize(
    ("method", "path", "bucket"),
    [
        ("GET", "/markets/quotes", Bucket.MARKET_DATA),
        ("POST", "/markets/quotes", Bucket.MARKET_DATA),
        ("GET", "/accounts/VA1/orders", Bucket.STANDARD),
        ("POST", "/accounts/VA1/orders", Bucket.TRADING),
        ("delete", "/accounts/VA1/orders/5", Bucket.TRADING),
        ("GET", "/user/balances", Bucket.STANDARD),
    ],
)
def test_bucket_for_paths_with_and_without_the_version(
    prefix: str, method: str, path: str, bucket: Bucket
) -> None:
    assert bucket_for(method, prefix + path) is bucket


def test_quotas_name_every_bucket() -> None:
    assert set(LIVE_LIMITS) == set(SANDBOX_LIMITS) == set(Bucket)
    assert Bucket.MARKET_DATA == "market_data"
