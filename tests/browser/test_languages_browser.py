"""Every screen speaks one language: all visible text is Chinese on ``zh`` and English on ``en``.

For each audience's screen, the test renders it in both languages (toggling ``lang`` in the
URL the way the language switch does), saves a screenshot of each, and reads every text node
a person could see (HTML and the charts' SVG; not hidden tabs, not hover boxes).

Text that is not in the page's language by nature carries its own ``lang`` attribute, as
HTML asks: identifiers and codes (a request number, a quarantine reason code, the Python
of "open as code") are ``lang="zxx"`` (no linguistic content), a Chinese street address
typed by a citizen is ``lang="zh-CN"`` on the English page. Such text is left out, and the
test bounds how much of a screen it may be, so the attribute cannot hide a missed
translation. Map labels are drawn on a canvas and cannot be read here; they come from the
same ``Unit.name(lang)`` as the breadcrumb, which is checked.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("cjk_font")]

#: Visible text nodes: skip what is not displayed and what is marked as not translatable.
_VISIBLE_TEXT = """
(pageLang) => {
  const out = [];
  let tagged = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const text = node.nodeValue.trim();
    const el = node.parentElement;
    if (!text || !el) continue;
    if (el.closest('script, style, noscript, .hoverlayer, .modebar')) continue;
    const style = getComputedStyle(el);
    const hidden = style.visibility === 'hidden' || style.display === 'none';
    if (hidden || style.opacity === '0') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const own = el.closest('[lang]');
    if (own && own !== document.documentElement && own.getAttribute('lang') !== pageLang) {
      tagged += 1;
      continue;
    }
    out.push(text);
  }
  return {texts: out, tagged: tagged};
}
"""

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
#: Latin tokens a Chinese screen legitimately shows: units, standard abbreviations and
#: format names that Chinese dashboards write in Latin letters too.
ZH_ALLOWED = {
    "km",
    "m",
    "h",
    "KPI",
    "SLA",
    "TOP",
    "Top",
    "H3",
    "H",
    "CSV",
    "GeoParquet",
    "Parquet",
    "Python",
    "API",
    "EN",
    "ID",
    "Wilson",
}

#: Every audience's screens (path and query, without ``lang``); both languages are run.
#: ``{district}`` and ``{street}`` are the busiest ones of the small city. The grid chief's
#: phone view runs the same check in tests/browser/test_grid_browser.py.
SCREENS = {
    "city": "/?period=last30",
    "city_worry": "/?period=last30&view=worry",
    "city_sla": "/?period=last365&view=sla",
    "city_ranking": "/?period=last30&view=ranking",
    "city_backlog": "/?period=last30&view=backlog",
    "city_components": "/?period=last30&view=components",
    "district": "/district/{district}?period=last30",
    "street_worry": "/street/{street}?period=m2026-09&view=worry",
    "street_components": "/street/{street}?period=last30&view=components",
    "street_backlog": "/street/{street}?period=last30&view=backlog",
    "wall": "/wall?period=last30",
    "wall_district": "/wall/district/{district}?period=last30",
    "wall_tile_2": "/wall?layout=2x2&tile=2",
    "quality": "/quality?",
}


@pytest.fixture(scope="module")
def busiest(warehouse: Any) -> dict[str, str]:
    """The busiest district and street of the small city in the last 30 days."""
    found = {}
    for level in ("district", "street"):
        row = warehouse.execute(
            "SELECT unit_id FROM mart_unit_kpi WHERE level = $level AND period_id = 'last30'"
            " ORDER BY requests DESC, unit_id LIMIT 1",
            {"level": level},
        ).fetchone()
        found[level] = str(row[0])
    return found


def foreign_text(texts: list[str], lang: str) -> list[str]:
    """Return the visible texts that are not in ``lang``."""
    bad = []
    for text in texts:
        if lang == "en":
            if CJK.search(text):
                bad.append(text)
        else:
            words = [w for w in LATIN_WORD.findall(text) if w not in ZH_ALLOWED]
            if words:
                bad.append(text)
    return bad


def test_foreign_text_finds_the_other_language_and_allows_units():
    assert foreign_text(["共 12 件", "3.4 km²", "SLA 达标率"], "zh") == []
    assert foreign_text(["Overdue 超期"], "zh") == ["Overdue 超期"]
    assert foreign_text(["Overdue 超期"], "en") == ["Overdue 超期"]
    assert foreign_text(["12 requests · 3.4 km²"], "en") == []


#: At most this share of a screen's text may be marked as in another language (ids, codes).
MAX_TAGGED_SHARE = 0.5

#: True once every plotly graph on the page has been drawn.
_GRAPHS_DRAWN = """() => {
  const graphs = [...document.querySelectorAll('.js-plotly-plot')];
  return !document.querySelector('[data-dash-is-loading="true"]')
    && graphs.every(gd => gd._fullLayout);
}"""


def open_screen(page: Any, url: str) -> None:
    """Open ``url`` and wait until Dash rendered it and every chart is drawn."""
    page.goto(url)
    page.wait_for_selector("#_pages_content > *", state="attached", timeout=30_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_function(_GRAPHS_DRAWN, timeout=30_000)


def visible_texts(page: Any, lang: str) -> tuple[list[str], int]:
    """Return the visible texts in the page's language, and how many were tagged otherwise."""
    found = page.evaluate(_VISIBLE_TEXT, "en" if lang == "en" else "zh-CN")
    return list(found["texts"]), int(found["tagged"])


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_every_visible_text_is_in_the_chosen_language(server, wall, screenshots, busiest, screen):
    path = SCREENS[screen].format(**busiest)
    for lang in ("zh", "en"):
        url = f"{server}{path}{'&' if '?' in path else '?'}lang={lang}"
        open_screen(wall, url)
        wall.screenshot(path=str(screenshots / f"lang_{screen}_{lang}.png"))
        texts, tagged = visible_texts(wall, lang)
        assert len(texts) > 5, f"{screen} ({lang}) shows almost no text: {texts}"
        assert tagged <= MAX_TAGGED_SHARE * (tagged + len(texts)), (screen, lang, tagged)
        bad = foreign_text(texts, lang)
        assert bad == [], f"{screen} in {lang} shows text in another language: {bad[:20]}"
