-- Metrics of the units of one level in one period, with names: what the KPI tiles, the
-- child tables, the ranking view and api.metrics() read. Optional filters: one parent,
-- one unit. Inputs: mart_unit_kpi, dim_unit. Params: $level, $period_id, $parent_id,
-- $unit_id, $include_unassigned.
select
    coalesce(u.name_zh, k.unit_id) as name_zh,
    coalesce(u.name_en, u.name_zh, k.unit_id) as name_en,
    k.*
from mart_unit_kpi as k
left join dim_unit as u on u.unit_id = k.unit_id
where k.level = $level
    and k.period_id = $period_id
    and ($parent_id::VARCHAR is null or k.parent_id = $parent_id::VARCHAR)
    and ($unit_id::VARCHAR is null or k.unit_id = $unit_id::VARCHAR)
    and ($include_unassigned::BOOLEAN or k.unit_id <> '__unassigned__')
order by k.unit_id
