-- Sensor alarms by unit (every level and the city), period, kind and alarm type: the
-- "alarms by type" breakdown of the component health (only non-zero rows).
-- Inputs: stg_components, int_component_units, int_component_failure, dim_period.
with periods as (
    select period_id, start_local, least(end_local, as_of) as end_local from dim_period
)

select
    u.unit_id,
    u.level,
    p.period_id,
    c.kind,
    f.alarm_type,
    count(*) as alarms
from int_component_failure as f
inner join periods as p on f.ts_local >= p.start_local and f.ts_local < p.end_local
inner join stg_components as c on c.component_id = f.component_id
inner join int_component_units as u on u.component_id = f.component_id
where f.source = 'alarm'
group by u.unit_id, u.level, p.period_id, c.kind, f.alarm_type
order by u.level, u.unit_id, p.period_id, c.kind, alarms desc, f.alarm_type
