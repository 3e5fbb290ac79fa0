-- The worry heatmap: one row per level, unit, period and cell. Inputs: hex_scored.
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
    rated,
    dissatisfied,
    child_id,
    population,
    requests_per_10k_30d,
    backlog_share,
    dissatisfied_share,
    worry_index
from hex_scored
order by hierarchy, level, unit_id, period_id, cell
