"""``spx-pipeline report``: the analysts' charts in one self-contained HTML file, read offline.

Built with plotly: its figures are interactive (hover for the account, setup, day and amount;
zoom; hide a series) and ``plotly.js`` is embedded in the file once, so the report opens from a
laptop, a mail attachment or a shared drive with no network and no server. Figures come from the
published analyst copy (``storage.chart_reads``, the same queries as the asset pages' pictures),
so writing a report never blocks a run. A section whose data does not exist yet says so in words
instead of drawing an empty frame.

P&L per setup reads the ``trades`` relation (``chart_reads.TRADES_COLUMNS``; each trade's current
version) when the analyst copy has one; without realized P&L the section says so.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pandas as pd

from spx_pipeline.storage.warehouse import chart_reads
from spx_pipeline.storage.warehouse.analyst import AnalystCatalog

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

REPORT_SUFFIX: Final = "_report.html"
PREFIX: Final = chart_reads.ANALYST_PREFIX
TRADABLE: Final = "#2a9d8f"
BLOCKED: Final = "#e76f51"
NO_TRADES: Final = "No closed trades yet"


@dataclass(frozen=True)
class Heading:
    """What stands above a section whether it draws a chart or says why not: key, title, description."""

    key: str
    title: str
    description: str

    def chart(self, figure: Figure) -> Section:
        return Section(self, figure)

    def note(self, text: str) -> Section:
        return Section(self, note=text)


@dataclass(frozen=True)
class Section:
    """One chart of the report under its heading, or the note that stands in for it."""

    heading: Heading
    figure: Figure | None = None
    note: str | None = None


SLIPPAGE = Heading(
    "slippage",
    "Slippage per setup and leg",
    "Slippage of every filled leg against its ticket's price, in ticks of the SPX grid "
    "(positive = adverse), per setup and leg; the newest reading of each leg counts once.",
)
OUTCOMES = Heading(
    "outcomes",
    "Tradable vs blocked per day",
    "Recommendations of each trading day's newest run, tradable (at least one contract) or blocked; "
    "why they were blocked: `spx-pipeline db query blocked_reasons_by_day`.",
)
PNL = Heading(
    "pnl",
    "P&L per setup",
    "Realized P&L of closed trades (round trips) per setup, summed over every session.",
)


@dataclass(frozen=True)
class Report:
    path: Path
    sections: tuple[Section, ...]

    @property
    def charts(self) -> list[str]:
        return [s.heading.key for s in self.sections if s.figure is not None]

    @property
    def notes(self) -> list[str]:
        return [s.heading.key for s in self.sections if s.figure is None]


def report_path(warehouse_path: Path) -> Path:
    """``data/warehouse.duckdb`` -> ``data/warehouse_report.html``: beside the warehouse."""
    return warehouse_path.with_name(warehouse_path.name.removesuffix(".duckdb") + REPORT_SUFFIX)


def _layout(figure: Figure, *, y_title: str, money: bool = False) -> Figure:
    figure.update_layout(
        template="plotly_white",
        height=420,
        margin={"l": 70, "r": 30, "t": 30, "b": 60},
        legend={"orientation": "v"},
        yaxis_title=y_title,
    )
    if money:
        figure.update_yaxes(tickprefix="$", tickformat=",.0f")
    return figure


def equity_section(catalog: AnalystCatalog) -> Section:
    import plotly.graph_objects as go

    history = chart_reads.equity_history(catalog.query, PREFIX)
    accounts = chart_reads.account_count(catalog.query, PREFIX)
    shown = history["account_id"].nunique() if len(history) else 0
    description = "Total equity of each account at every published portfolio snapshot (UTC)."
    if accounts > shown:
        description += f" The {shown} accounts with the most equity of {accounts} are drawn."
    heading = Heading("equity", "Equity per account", description)
    if history.empty:
        return heading.note("No portfolio snapshots yet.")
    figure = go.Figure()
    for account, rows in history.groupby("account_id", sort=True):
        figure.add_trace(
            go.Scatter(
                x=pd.to_datetime(rows["captured_at"], utc=True),
                y=rows["total_equity"],
                mode="lines+markers",
                name=str(account),
                hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>$%{y:,.2f}<extra>%{fullData.name}</extra>",
            )
        )
    times = pd.to_datetime(history["captured_at"], utc=True)
    if times.nunique() == 1:  # one sync so far: an hour either side, not milliseconds
        figure.update_xaxes(range=[times.min() - pd.Timedelta(hours=1), times.max() + pd.Timedelta(hours=1)])
    return heading.chart(_layout(figure, y_title="total equity", money=True))


def slippage_section(catalog: AnalystCatalog) -> Section:
    import plotly.graph_objects as go

    fills = chart_reads.slippage_of_fills(catalog.query, PREFIX)
    if fills.empty:
        return SLIPPAGE.note("No filled legs yet.")
    figure = go.Figure()
    for (setup, leg), rows in fills.groupby(["setup_id", "leg"], sort=True):
        figure.add_trace(
            go.Box(
                y=rows["slippage_ticks"],
                name=f"{setup} · {leg}",
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                customdata=rows[["slippage_dollars"]].to_numpy(),
                hovertemplate=(
                    "%{y:.2f} ticks ($%{customdata[0]:,.2f} per contract)<extra>%{fullData.name}</extra>"
                ),
            )
        )
    figure.add_hline(y=0, line_width=1, line_color="#888888")
    figure.update_layout(showlegend=False)
    return SLIPPAGE.chart(_layout(figure, y_title="ticks (positive = adverse)"))


def outcomes_section(catalog: AnalystCatalog) -> Section:
    import plotly.graph_objects as go

    per_day = chart_reads.outcomes_per_day(catalog.query, PREFIX)
    if per_day.empty:
        return OUTCOMES.note("No recommendations yet.")
    days = [pd.Timestamp(day).strftime("%Y-%m-%d") for day in per_day["as_of_date"]]
    figure = go.Figure(
        [
            go.Bar(x=days, y=per_day["tradable"], name="tradable", marker_color=TRADABLE),
            go.Bar(x=days, y=per_day["blocked"], name="blocked", marker_color=BLOCKED),
        ]
    )
    figure.update_layout(barmode="stack")
    figure.update_xaxes(type="category")
    return OUTCOMES.chart(_layout(figure, y_title="recommendations"))


def trades_available(catalog: AnalystCatalog) -> bool:
    """The analyst copy has a ``trades`` relation with the columns the P&L chart reads."""
    return set(chart_reads.TRADES_COLUMNS) <= chart_reads.trade_columns(catalog.query, PREFIX)


def pnl_section(catalog: AnalystCatalog) -> Section:
    import plotly.graph_objects as go

    if not trades_available(catalog):
        return PNL.note(f"{NO_TRADES}: the analyst copy has no trades.")
    per_setup = chart_reads.realized_pnl_per_setup(catalog.query, PREFIX)
    if per_setup.empty:
        return PNL.note(f"{NO_TRADES}.")
    totals = per_setup.groupby("setup_id", sort=True).agg(
        realized_pnl=("realized_pnl", "sum"), trades=("trades", "sum"), sessions=("session_date", "nunique")
    )
    figure = go.Figure(
        go.Bar(
            x=[str(s) for s in totals.index],
            y=totals["realized_pnl"],
            marker_color=[TRADABLE if v >= 0 else BLOCKED for v in totals["realized_pnl"]],
            customdata=totals[["trades", "sessions"]].to_numpy(),
            hovertemplate=(
                "$%{y:,.2f} over %{customdata[0]} trades in %{customdata[1]} sessions<extra></extra>"
            ),
        )
    )
    return PNL.chart(_layout(figure, y_title="realized P&L", money=True))


def build_sections(catalog: AnalystCatalog) -> tuple[Section, ...]:
    return (
        equity_section(catalog),
        slippage_section(catalog),
        outcomes_section(catalog),
        pnl_section(catalog),
    )


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1d2a33; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin: 2rem 0 0.3rem; }
.meta, .description { color: #55636d; font-size: 0.9rem; }
.note { background: #f4f6f7; border-left: 4px solid #9aa5ab; padding: 0.8rem 1rem; }
code { background: #f4f6f7; padding: 0 0.2rem; }
"""


def render_html(sections: tuple[Section, ...], *, generated_at: datetime, source: Path) -> str:
    """The whole page: plotly.js once in the head, then one section per chart or note."""
    from plotly.offline import get_plotlyjs

    config = {"displaylogo": False, "responsive": True}
    parts = []
    for section in sections:
        heading = section.heading
        body = (
            section.figure.to_html(
                full_html=False, include_plotlyjs=False, div_id=f"chart-{heading.key}", config=config
            )
            if section.figure is not None
            else f'<p class="note" data-note="{heading.key}">{html.escape(section.note or "")}</p>'
        )
        description = html.escape(heading.description).replace("`", "")
        parts.append(
            f'<section id="{heading.key}" data-section="{heading.key}">\n'
            f"<h2>{html.escape(heading.title)}</h2>\n"
            f'<p class="description">{description}</p>\n{body}\n</section>'
        )
    stamp = generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>spx-pipeline report</title>\n"
        f"<style>{_STYLE}</style>\n"
        f'<script type="text/javascript">{get_plotlyjs()}</script>\n</head>\n<body>\n'
        "<h1>spx-pipeline report</h1>\n"
        f'<p class="meta">Generated {html.escape(stamp)} from the published analyst copy '
        f"<code>{html.escape(str(source))}</code>. Published runs only; opens offline.</p>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )


def write_report(warehouse_path: Path, *, generated_at: datetime, output: Path | None = None) -> Report:
    """Build the report from the analyst copy beside ``warehouse_path`` and write it (atomically)."""
    catalog = AnalystCatalog(warehouse_path)
    sections = build_sections(catalog)
    target = output or report_path(catalog.warehouse_path)
    page = render_html(sections, generated_at=generated_at, source=catalog.catalog_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(page, encoding="utf-8")
    partial.replace(target)
    return Report(target, sections)
