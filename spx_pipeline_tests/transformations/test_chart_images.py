"""The asset pages' PNG charts draw for any span of history, without matplotlib's warnings."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from spx_pipeline.transformations.chart_images import equity_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAY = 86_400
SPANS_SECONDS = [0, 1, 30, 900, 5 * 3600, DAY, 2 * DAY, 3 * DAY, 10 * DAY, 200 * DAY, 800 * DAY]


@pytest.mark.parametrize("span", SPANS_SECONDS)
def test_equity_over_any_span_is_a_png_without_a_locator_warning(span: int) -> None:
    start = pd.Timestamp("2026-11-24T15:30:00Z")
    history = pd.DataFrame(
        {
            "account_id": ["VA1", "VA1", "VA2"],
            "captured_at": [start, start + pd.Timedelta(seconds=span), start],
            "total_equity": [52_480.55, 53_000.0, 9_000.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "AutoDateLocator was unable to pick an appropriate interval"
        image = equity_png(history)
    assert image is not None and image.startswith(PNG_SIGNATURE)


def test_no_history_is_no_chart() -> None:
    assert equity_png(pd.DataFrame(columns=["account_id", "captured_at", "total_equity"])) is None
