"""yiwang pipelines: raw sources -> DuckDB warehouse of H3 and admin-unit marts.

Stages (``pipelines.stages``): ingest -> geoindex -> aggregate -> publish. The notebook API
and the dashboard read the published warehouse through ``pipelines.catalog``.
"""
