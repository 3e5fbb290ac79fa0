"""The Dash shell: ``create_app(settings)`` → a multi-page app, one page per drill level.

The shell owns only the URL (``dcc.Location`` with ``refresh="callback-nav"``: callbacks
navigate without reloading), the page container and app-wide settings. Pages live in
``dashboard/pages/``; data in :mod:`dashboard.data`. Nothing heavy happens at import time:
the warehouse is opened on the first request.
"""

from __future__ import annotations

import atexit
import gc
from pathlib import Path

import dash
from dash import dcc, html
from flask import Flask

from dashboard import (
    auth,
    basemap,
    callbacks,
    data,
    hardening,
    ids,
    oidc,
    plotly_bundle,
    timing,
    warmup,
)
from dashboard.i18n import default_lang, set_default_lang, t
from pipelines.settings import Settings

_HERE = Path(__file__).resolve().parent
#: gzip level of answers (flask-compress's default is 6). A cockpit page is 0.5-0.9 MB of
#: JSON: level 1 compresses it in about 40 % of level 6's CPU time (~10 vs 25 ms for
#: 0.8 MB) for 10-20 % more bytes, and on an intranet the server's two cores, shared by
#: fifty screens, are scarcer than bandwidth. (plotly.js is gzipped once, at level 9.)
COMPRESS_LEVEL = 1

#: ``lang`` on <html> lets the browser pick CJK glyphs from a Simplified-Chinese font. The
#: preload fetches plotly.js with the page's own scripts: the graphs ask for it only once
#: the page's data has arrived, a second round trip of a megabyte on a cockpit's first load.
_INDEX = """<!DOCTYPE html>
<html lang="{lang}">
    <head>
        {{%metas%}}
        <title>{{%title%}}</title>
        {{%favicon%}}
        {preload}
        {{%css%}}
    </head>
    <body>
        {{%app_entry%}}
        <footer>
            {{%config%}}
            {{%scripts%}}
            {{%renderer%}}
        </footer>
    </body>
</html>"""


def shell() -> html.Div:
    """Return the app-wide layout: the URL and the page container."""
    return html.Div(
        [dcc.Location(id=ids.URL, refresh="callback-nav"), dash.page_container],
        className="yw-shell",
    )


def create_app(settings: Settings) -> dash.Dash:
    """Build the cockpit app for ``settings`` (the contract used by ``yiwang serve``).

    Parameters
    ----------
    settings
        ``data_dir`` locates the published warehouse; ``language`` is the default language;
        ``memory_limit`` and ``threads`` configure DuckDB.

    Returns
    -------
    dash.Dash
        Ready to ``run(host=..., port=...)``; ``app.server`` is the Flask WSGI app.
    """
    data.configure(settings)
    basemap.configure(settings)
    set_default_lang(settings.language)
    lang = default_lang()
    app = dash.Dash(
        # The package name makes Dash import pages as ``dashboard.pages.*``.
        "dashboard",
        use_pages=True,
        pages_folder=str(_HERE / "pages"),
        assets_folder=str(_HERE / "assets"),
        serve_locally=True,
        compress=True,
        title=t("app.title", lang),
        update_title="",
        # Cockpit ids exist only inside page layouts, not in the shell.
        suppress_callback_exceptions=True,
        index_string=_INDEX.format(
            lang="en" if lang == "en" else "zh-CN", preload=plotly_bundle.MARKER
        ),
        meta_tags=[
            {"name": "viewport", "content": "width=device-width, initial-scale=1"},
            {"name": "color-scheme", "content": "dark"},
        ],
    )
    app.server.config["COMPRESS_LEVEL"] = COMPRESS_LEVEL
    timing.install(app.server)  # Server-Timing on every response
    warmup.install(app.server)  # requests in flight: the warm-up runs when there are none
    app.layout = shell()
    callbacks.register(app)
    plotly_bundle.install(app.server)
    index = app.interpolate_index
    app.interpolate_index = lambda **parts: plotly_bundle.preload(index(**parts))  # type: ignore[method-assign]
    # Last, so that the gate sees every route the app and its features registered.
    auth.install(app, settings)
    oidc.install(app, settings)
    # After every route exists: the limits attach to routes by name.
    hardening.install(app, settings)
    return app


def start_serving(settings: Settings) -> warmup.Warmer:
    """Prepare a long-running server process, once its app exists.

    * Warm the served build's caches in the background (``warm_depth``; see
      :mod:`dashboard.warmup`), now and whenever a new build is published.
    * Freeze the objects alive now (the app, Dash's registries, the imported libraries)
      out of the garbage collector's way: a full collection of the fresh app walks ~1 M
      objects (~100 ms, a pause every thread of the server waits out); frozen, < 10 ms.
      They are unfrozen at exit, so that the interpreter's last collections still free
      them (frozen, DuckDB's nanobind types report "leaked instances" at exit).

    Only servers call this (``yiwang serve``, :func:`server`): a test or a notebook that
    creates an app keeps the collector as it is and starts no thread.
    """
    warmer = warmup.start(settings.warm_depth)
    gc.collect()
    gc.freeze()
    atexit.register(_unfreeze)
    return warmer


def _unfreeze() -> None:
    gc.unfreeze()
    gc.collect()


def server() -> Flask:
    """WSGI factory for production servers (``gunicorn 'dashboard.app:server()'``)."""
    settings = Settings.from_env()
    app = create_app(settings)
    start_serving(settings)
    return app.server
