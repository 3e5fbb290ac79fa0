-- One row per city component as it stands at the data's as-of time: the register's
-- fields, kind names, status class, its latest alarm, failures of the last 30 days and
-- whether it is alarming (an alarm in the last $alarming_days days); what the component
-- layer draws and api.components() returns. Places (any hierarchy) are in
-- fact_component_place; leaf_id is the primary hierarchy's.
-- Inputs: stg_components, int_component_geo, int_component_place, component_kind,
-- component_status, int_component_failure.
-- Params: $as_of_local, $alarming_days, $primary_hierarchy.
with failures as (
    select * from int_component_failure where ts_local < $as_of_local
),

last_alarm as (
    select
        component_id,
        ts_local as last_alarm_at,
        alarm_type as last_alarm_type
    from (
        select
            component_id,
            ts_local,
            alarm_type,
            row_number() over (
                partition by component_id order by ts_local desc, alarm_type
            ) as rank_
        from failures
        where source = 'alarm'
    ) as ranked
    where rank_ = 1
),

recent as (
    select
        component_id,
        count(*) as failures_30d,
        count(*) filter (where source = 'complaint') as complaints_30d,
        count(*) filter (where source = 'alarm') as alarms_30d,
        count(*) filter (where is_repeat) as repeats_30d
    from failures
    where ts_local >= $as_of_local - interval 30 day
    group by component_id
),

totals as (
    select
        component_id,
        count(*) filter (where source = 'complaint') as complaints_total,
        count(*) filter (where source = 'alarm') as alarms_total
    from failures
    group by component_id
)

select
    c.component_id,
    c.kind,
    coalesce(k.kind_zh, c.kind) as kind_zh,
    coalesce(k.kind_en, c.kind) as kind_en,
    c.status,
    coalesce(s.status_class, 'unknown') as status_class,
    c.owner,
    c.property_unit,
    c.maintainer,
    c.installed_on,
    g.lng,
    g.lat,
    g.cell,
    g.geo_status,
    p.leaf_id,
    a.last_alarm_at,
    a.last_alarm_type,
    coalesce(a.last_alarm_at >= $as_of_local - to_days($alarming_days), false) as alarming,
    coalesce(r.failures_30d, 0) as failures_30d,
    coalesce(r.complaints_30d, 0) as complaints_30d,
    coalesce(r.alarms_30d, 0) as alarms_30d,
    coalesce(r.repeats_30d, 0) as repeats_30d,
    coalesce(t.complaints_total, 0) as complaints_total,
    coalesce(t.alarms_total, 0) as alarms_total
from stg_components as c
left join int_component_geo as g on g.component_id = c.component_id
left join int_component_place as p
    on p.component_id = c.component_id and p.hierarchy = $primary_hierarchy
left join component_kind as k on k.kind = c.kind
left join component_status as s on s.status = c.status
left join last_alarm as a on a.component_id = c.component_id
left join recent as r on r.component_id = c.component_id
left join totals as t on t.component_id = c.component_id
order by c.kind, c.component_id
