-- The worry heatmap: one row per level, unit, period and cell, with the worry index, its
-- components' scores and contributions (pipelines/worry.py, docs/metrics.md) and the counts
-- behind them. Inputs: hex_scored.
select
    hierarchy,
    level,
    unit_id,
    period_id,
    res,
    cell,
    requests,
    open,
    overdue,
    overdue_open,
    rated,
    dissatisfied,
    discontented,
    settled,
    repeats,
    severity_sum,
    previous_requests,
    previous_days,
    child_id,
    population,
    min_residents,
    requests_per_10k_30d,
    backlog_share,
    dissatisfied_share,
    prior_rate,
    columns('^score_'),
    columns('^contribution_'),
    worry_index
from hex_scored
order by hierarchy, level, unit_id, period_id, cell
