"""The alert ticker: the latest early-warning alerts of a cockpit's area in one strip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dash import html

from dashboard import ids
from dashboard.components.panels import attributes


@dataclass(frozen=True)
class TickerItem:
    """One alert as shown: already translated and formatted."""

    alert_id: str
    severity: int  # 1 watch, 2 warning, 3 severe
    text: str
    href: str | None = None


def alert_ticker(items: Sequence[TickerItem], *, title: str, empty_text: str) -> html.Div:
    """Return the ticker strip (``ids.TICKER``): a label, then the alerts, newest first.

    Each item carries ``data-alert`` (its id) and ``data-severity``; the strip scrolls on
    wide screens (CSS) and wraps on a phone. With no alert it says so, calmly.
    """
    if not items:
        body: list[html.Span | html.A] = [html.Span(empty_text, className="yw-ticker-calm")]
    else:
        body = []
        for item in items:
            content = html.Span(
                item.text,
                className=f"yw-ticker-item yw-sev-{item.severity}",
                **attributes({"data-alert": item.alert_id, "data-severity": str(item.severity)}),
            )
            body.append(html.A(content, href=item.href) if item.href else content)
    return html.Div(
        [
            html.Span(title, className="yw-ticker-title"),
            html.Div(html.Div(body, className="yw-ticker-track"), className="yw-ticker-window"),
        ],
        id=ids.TICKER,
        className="yw-ticker",
        role="status",
    )
