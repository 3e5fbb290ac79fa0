-- Sensor alarms, newest first, optionally of the components in one unit (any level; the
-- city's id filters nothing), of one kind, from $since (local time) on; with the
-- component's kind, status and position and the alarm type's display names.
-- Inputs: fact_component_alarm, mart_component, dim_component_alarm_type,
-- fact_component_place, dim_unit_lineage, dim_unit. Params: $unit_id, $kind, $since, $limit.
with in_unit as (
    select p.component_id
    from fact_component_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
)

select
    a.ts_local,
    a.alarm_type,
    coalesce(t.alarm_type_zh, a.alarm_type) as alarm_type_zh,
    coalesce(t.alarm_type_en, a.alarm_type) as alarm_type_en,
    a.component_id,
    c.kind,
    c.kind_zh,
    c.kind_en,
    c.status_class,
    c.lng,
    c.lat
from fact_component_alarm as a
inner join mart_component as c on c.component_id = a.component_id
left join dim_component_alarm_type as t on t.alarm_type = a.alarm_type
where ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or a.component_id in (select component_id from in_unit))
    and ($kind::VARCHAR is null or c.kind = $kind::VARCHAR)
    and ($since::TIMESTAMP is null or a.ts_local >= $since::TIMESTAMP)
order by a.ts_local desc, a.component_id
limit $limit::BIGINT
