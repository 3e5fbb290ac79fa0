"""Any path that is not a cockpit: a friendly note and a link back to the city."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboard import components, ids, routes
from dashboard.i18n import resolve_lang, t

dash.register_page(__name__, path="/404", name="Not found", title="一网统管")


def layout(**kwargs: Any) -> html.Div:
    """Render the not-found state in the URL's language."""
    lang = resolve_lang(kwargs.get("lang"))
    return components.empty_state(
        t("not_found.title", lang),
        t("not_found.body", lang),
        back_href=routes.with_query("/", lang=lang),
        back_text=t("empty.back", lang),
        component_id=ids.NOT_FOUND,
    )
