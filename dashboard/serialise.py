"""Fast JSON for Dash's answers: the same bytes as plotly's encoder, five to ten times sooner.

Dash 4.4 encodes every callback answer, the layout and the dependencies with
``plotly.io.json.to_json_plotly``. With orjson installed that first tries ``orjson.dumps``
and, as soon as the object holds anything orjson does not know (a Dash component: every
page render), walks the *whole* object in Python (``clean_to_json_compatible``), one call
per list item, polygon coordinates included. A cockpit page's map holds tens of thousands
of numbers, so the walk was most of a warm page render: 60–105 ms of the city page's
~90 ms on the 1 M demo, against 8 ms here (docs/benchmarks.md).

:func:`to_json` hands orjson a ``default`` hook instead: components become their
``to_plotly_json()`` dict lazily, where orjson meets them, and only objects orjson cannot
encode go through plotly's cleaner, so the numbers stay in orjson's native loop. The output
is byte-for-byte what plotly's encoder writes (the same orjson options and the same
escaping of ``<``, ``>``, ``/``, U+2028 and U+2029; ``tests/dashboard/test_serialise.py``).

:func:`install` points Dash's module-level ``to_json`` names at it. They are private names
of Dash, so it checks they are there and leaves Dash alone if a future version moved them.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import orjson
from dash.development.base_component import Component
from plotly.io import _json as plotly_json

log = logging.getLogger(__name__)

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_MODULES: dict[str, Any] = {}


def _modules() -> dict[str, Any]:
    # plotly's cleaner takes the optional modules it may meet; resolved once.
    if not _MODULES:
        import numpy as np
        import pandas as pd

        _MODULES.update({"sage_all": None, "np": np, "pd": pd, "image": None})
    return _MODULES


#: Per component class: whether its instances may be encoded from their attributes (not
#: when the class overrides ``to_plotly_json`` or could answer a prop from the class).
_PLAIN: dict[type, bool] = {}


def _is_plain(cls: type, names: list[str]) -> bool:
    return (
        getattr(cls, "to_plotly_json", None) is Component.to_plotly_json
        and not hasattr(cls, "__getattr__")
        and not any(hasattr(cls, name) for name in names)
    )


def _component(obj: Component) -> dict[str, Any]:
    """``obj.to_plotly_json()``, reading the instance's attributes directly.

    Dash's own method tests ``hasattr`` for each of the component's 20-40 prop names and
    every attribute against each wildcard prefix; a page holds a few thousand components
    (the SLA lists), so that was half of encoding one. The result is the same dict, in the
    same order: the set props in the component's order, then ``data-*`` and ``aria-*``.
    """
    attrs = obj.__dict__
    names: list[str] = attrs.get("_prop_names", [])
    cls = type(obj)
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _PLAIN[cls] = _is_plain(cls, names)
    if not plain:
        as_json: dict[str, Any] = obj.to_plotly_json()
        return as_json
    props = {name: attrs[name] for name in names if name in attrs}
    wildcards = tuple(attrs.get("_valid_wildcard_attributes", ()))
    if wildcards:
        for key in attrs:
            if key.startswith(wildcards):
                props[key] = attrs[key]
    return {"props": props, "type": obj._type, "namespace": obj._namespace}


def default(obj: Any) -> Any:
    """What orjson cannot encode: a component's props, else plotly's cleaner for ``obj``.

    orjson's ``default`` hook (also for :func:`dashboard.cache.memo_json`'s figures).
    """
    if isinstance(obj, Component):
        return _component(obj)
    to_plotly_json = getattr(obj, "to_plotly_json", None)
    if to_plotly_json is not None:
        return to_plotly_json()
    cleaned = plotly_json.clean_to_json_compatible(
        obj, numpy_allowed=True, datetime_allowed=True, modules=_modules()
    )
    if cleaned is obj:
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
    return cleaned


def to_json(value: Any) -> str:
    """Encode ``value`` (components, figures, plain data) as plotly's encoder would."""
    text = orjson.dumps(value, default=default, option=_OPTIONS).decode("utf-8")
    return plotly_json._safe(text, plotly_json._swap_orjson)


#: Dash modules that imported ``to_json`` by name (Dash 4.4: answers, layout, dependencies).
_DASH_MODULES = ("dash._callback", "dash.dash", "dash._utils")


def install() -> bool:
    """Make Dash encode with :func:`to_json`; return whether every expected name was found.

    Idempotent. When a Dash upgrade moves the names, Dash keeps its own encoder (slower,
    not wrong) and a warning says so.
    """
    import importlib

    patched: list[ModuleType] = []
    for name in _DASH_MODULES:
        module = importlib.import_module(name)
        if callable(getattr(module, "to_json", None)):
            patched.append(module)
    if len(patched) != len(_DASH_MODULES):
        log.warning("dash moved its to_json; answers keep plotly's slower encoder")
        return False
    for module in patched:
        module.to_json = to_json  # type: ignore[attr-defined]
    return True
