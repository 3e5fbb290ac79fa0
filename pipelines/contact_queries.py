"""Read queries for a request's contact (issue 7), shared by the dashboard and notebooks.

The warehouse holds only scrubbed descriptions and masked contacts (``fact_request``);
the full details are in :mod:`pipelines.vault`. These queries take the unit the caller
looks at, so the dashboard's data layer checks it against the principal's scope
(``data.read(query, unit_id, ...)``), and return only requests that lie in it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from pipelines.queries import run_query


def contacts(
    con: duckdb.DuckDBPyConnection, unit_id: str, request_ids: tuple[str, ...]
) -> pd.DataFrame:
    """The masked contact and scrubbed description of those ``request_ids`` in the unit.

    Parameters
    ----------
    con
        A connection to a warehouse build.
    unit_id
        The unit the caller looks at (the city's id: the whole city).
    request_ids
        Requests wanted (a tuple: the dashboard caches by argument).

    Returns
    -------
    pandas.DataFrame
        ``request_id, description, contact_name_masked, contact_phone_masked``, one row per
        wanted request that lies in the unit; the others are absent.
    """
    return run_query(
        con, "contact_requests", {"unit_id": unit_id, "request_ids": list(request_ids)}
    )
