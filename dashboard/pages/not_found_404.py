"""Any path that is not a cockpit: a friendly note and a link back to the city."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import cockpit
from dashboard.i18n import resolve_lang

dash.register_page(__name__, path="/404", name="Not found", title="一网统管")


def layout(**kwargs: Any) -> html.Div:
    """Render the not-found state in the URL's language."""
    return cockpit.not_found(resolve_lang(kwargs.get("lang")))
