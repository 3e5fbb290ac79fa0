-- Handling-time p50 and p90 of one level's units for one slice ($dim: 'all', 'category'
-- or 'department'), appended to kpi_quantiles by the aggregate stage level by level.
-- Quantiles do not add up, so they read every handled request of a unit; a quantile keeps
-- all its values in memory, and doing every level and slice in one query held ten copies of
-- a 10 M city's handled requests at once (out of memory). Both quantiles share one state.
-- Inputs: int_handled, int_leaf_units. Params: $level, $dim, $primary_hierarchy.
with rows as (
    select
        h.period_id,
        u.unit_id,
        case $dim when 'category' then h.l1_zh when 'department' then h.department else '' end
            as key,
        h.handled_hours
    from int_handled as h
    inner join int_leaf_units as u
        on u.hierarchy = h.hierarchy and u.leaf_id is not distinct from h.leaf_id
    where u.level = $level and (u.level <> 'city' or u.hierarchy = $primary_hierarchy)
),

quantiles as (
    select
        period_id,
        unit_id,
        key,
        quantile_cont(handled_hours, [0.5, 0.9]) as q
    from rows
    group by period_id, unit_id, key
)

select
    period_id,
    $level as level,
    unit_id,
    $dim as dim,
    key,
    q[1] as handling_hours_p50,
    q[2] as handling_hours_p90
from quantiles
