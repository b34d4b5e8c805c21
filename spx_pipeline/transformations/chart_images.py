"""Small PNG charts for the Dagster asset pages, drawn with matplotlib (no browser, no network).

Dagster's Plots tab draws one number per materialization; an equity curve per account, a slippage
distribution or a count per day is not one number, so the asset's metadata carries a picture
instead (``defs.display.chart_markdown`` embeds it). matplotlib's object API with the Agg canvas
is used, never ``pyplot``: no global state, no GUI backend, safe in any thread of a run.
The HTML report draws the same figures interactively (``transformations.report``, plotly).

Each picture is drawn with the cyclic collector paused (``collector_paused``): the first one in a run
process imports matplotlib, tens of thousands of new objects, and in a run process holding a sync's
objects the collections they triggered (~100 at 10,000 accounts) took ~0.25 s of the ~0.57 s CPU
the first chart cost. The figure's own cycles are collected when the collector runs again.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import pandas as pd

from spx_pipeline.transformations.collector import collector_paused

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SIZE: Final = (7.0, 3.0)  # inches; at DPI this is 630 x 270 pixels, a few dozen kilobytes
DPI: Final = 90
TRADABLE_COLOR: Final = "#2a9d8f"
BLOCKED_COLOR: Final = "#e76f51"


def _figure() -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI)  # fixed margins: a layout engine costs more than the drawing
    figure.subplots_adjust(left=0.13, right=0.82, top=0.88, bottom=0.2)
    axes = figure.add_subplot()
    axes.grid(True, axis="y", alpha=0.3)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _dollars(axes: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"${value:,.0f}"))


def chart(draw: Callable[[Axes, pd.DataFrame], None]) -> Callable[[pd.DataFrame], bytes | None]:
    """A chart of one frame: None when the frame is empty, else the PNG of the one figure ``draw``
    fills (said once here: every picture is one figure of one size, drawn with the collector paused)."""

    @functools.wraps(draw)
    def render(frame: pd.DataFrame) -> bytes | None:
        if frame.empty:
            return None
        with collector_paused():
            figure, axes = _figure()
            draw(axes, frame)
            return _png(figure)

    return render


@chart
def equity_png(axes: Axes, history: pd.DataFrame) -> None:
    """Total equity over time, one line per account (``chart_reads.equity_history``); None when empty."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    for account, rows in history.groupby("account_id", sort=True):
        times = pd.to_datetime(rows["captured_at"], utc=True)
        axes.plot(times, rows["total_equity"], marker="o", markersize=3, linewidth=1.5, label=str(account))
    _dollars(axes)
    axes.set_title("Total equity per account")
    axes.set_xlabel("captured (UTC)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    times = pd.to_datetime(history["captured_at"], utc=True)
    if times.nunique() == 1:  # one sync so far: an hour either side, not years of empty axis
        axes.set_xlim(times.min() - pd.Timedelta(hours=1), times.max() + pd.Timedelta(hours=1))
    locator = AutoDateLocator(minticks=3, maxticks=8)  # maxticks=6 alone found no interval for 3 days
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


@chart
def slippage_png(axes: Axes, fills: pd.DataFrame) -> None:
    """Slippage in ticks per setup and leg, as box plots with every fill drawn; None when no fill."""
    groups = list(fills.groupby(["setup_id", "leg"], sort=True))
    labels = [f"{setup}\n{leg}" for (setup, leg), _ in groups]
    values = [rows["slippage_ticks"].astype(float).tolist() for _, rows in groups]
    axes.boxplot(values, tick_labels=labels, showfliers=False)
    for position, points in enumerate(values, start=1):
        axes.scatter([position] * len(points), points, s=12, alpha=0.6, color="#264653", zorder=3)
    axes.axhline(0, color="#888888", linewidth=0.8)
    axes.set_ylabel("ticks (positive = adverse)")
    axes.set_title("Slippage per setup and leg")
    axes.tick_params(axis="x", labelsize="small")


@chart
def outcomes_png(axes: Axes, per_day: pd.DataFrame) -> None:
    """Tradable and blocked recommendations per trading day, stacked; None when there are none."""
    days = [pd.Timestamp(day).strftime("%Y-%m-%d") for day in per_day["as_of_date"]]
    tradable = per_day["tradable"].astype(int).tolist()
    blocked = per_day["blocked"].astype(int).tolist()
    axes.bar(days, tradable, color=TRADABLE_COLOR, label="tradable")
    axes.bar(days, blocked, bottom=tradable, color=BLOCKED_COLOR, label="blocked")
    axes.set_ylabel("recommendations")
    axes.set_title("Tradable vs blocked per day (newest run of each day)")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.tick_params(axis="x", labelsize="small", labelrotation=30)


@chart
def pnl_png(axes: Axes, per_setup: pd.DataFrame) -> None:
    """Realized P&L per setup (``chart_reads.realized_pnl_per_setup`` summed); None without trades."""
    totals = per_setup.groupby("setup_id", sort=True)["realized_pnl"].sum()
    colors = [TRADABLE_COLOR if value >= 0 else BLOCKED_COLOR for value in totals]
    axes.bar([str(s) for s in totals.index], totals.tolist(), color=colors)
    axes.axhline(0, color="#888888", linewidth=0.8)
    _dollars(axes)
    axes.set_title("Realized P&L per setup")
