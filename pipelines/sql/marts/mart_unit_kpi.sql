-- KPI strip and ranking rows: counts, rates and worry per level, unit and period
-- (docs/metrics.md). Inputs: kpi_scored (kpi_rates of dim 'all' with residents and worry).
select
    * exclude (dim, key, key_en, res, depth)
from kpi_scored
order by level, parent_id, period_id, unit_id
