-- City components as they stand (mart_component), optionally only those in one unit (any
-- level, any hierarchy: a component lies in a unit when its leaf does; the city's own id
-- filters nothing), of one kind, of one status class; alarming sensors and abnormal
-- components first, so a limit keeps what needs attention.
-- Inputs: mart_component, fact_component_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id, $kind, $status_class, $limit.
with in_unit as (
    select p.component_id
    from fact_component_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
)

select
    c.*,
    coalesce(t.alarm_type_zh, c.last_alarm_type) as last_alarm_type_zh,
    coalesce(t.alarm_type_en, c.last_alarm_type) as last_alarm_type_en
from mart_component as c
left join dim_component_alarm_type as t on t.alarm_type = c.last_alarm_type
where ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or c.component_id in (select component_id from in_unit))
    and ($kind::VARCHAR is null or c.kind = $kind::VARCHAR)
    and ($status_class::VARCHAR is null or c.status_class = $status_class::VARCHAR)
order by c.alarming desc, c.status_class = 'normal', c.failures_30d desc, c.kind, c.component_id
limit $limit::BIGINT
