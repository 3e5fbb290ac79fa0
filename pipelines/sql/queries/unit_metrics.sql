-- Metrics of the units of one level in one period, with names: what the KPI tiles, the
-- child tables, the ranking view and api.metrics() read. Every unit of the level is
-- listed, with NULL figures when it had no requests (the caller fills counts with 0).
-- Optional filters: one parent, one unit. Inputs: mart_unit_kpi, dim_unit.
-- Params: $level, $period_id, $parent_id, $unit_id, $include_unassigned.
with units as (
    select unit_id, level, parent_id, name_zh, coalesce(name_en, name_zh) as name_en, population
    from dim_unit
    where level = $level
    union all
    select unit_id, level, parent_id, '未定位' as name_zh, 'Unassigned' as name_en, 0 as population
    from mart_unit_kpi
    where level = $level and period_id = $period_id and unit_id = '__unassigned__'
        and $include_unassigned::BOOLEAN
)

select
    u.name_zh,
    u.name_en,
    u.unit_id,
    u.level,
    u.parent_id,
    $period_id::VARCHAR as period_id,
    coalesce(k.population, u.population) as population,
    k.* exclude (unit_id, level, parent_id, period_id, population)
from units as u
left join mart_unit_kpi as k
    on k.level = u.level and k.unit_id = u.unit_id and k.period_id = $period_id
where ($parent_id::VARCHAR is null or u.parent_id = $parent_id::VARCHAR)
    and ($unit_id::VARCHAR is null or u.unit_id = $unit_id::VARCHAR)
order by u.unit_id
