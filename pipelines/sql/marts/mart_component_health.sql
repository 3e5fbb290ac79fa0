-- Health of city components by unit (every level, every hierarchy, and the city), period
-- and kind (docs/metrics.md, City components). Register counts are the register as it
-- stands (status is not historised); activity counts are the period's:
--   abnormal          components whose status is damaged, under repair or disabled
--   alarming          components that raised an alarm in the $alarming_days days before the
--                     period's end (its as-of time for rolling periods)
--   complaints        requests linked to a component by distance ('nearest') in the period
--   alarms            alarms raised in the period
--   failures          complaints + alarms (a sensor's work order is its alarm's handling and
--                     is counted once, as the alarm; sensor_orders lists them apart)
--   failed_components components with at least one failure in the period
--   repeat_components components with a failure in the period that came within the repeat
--                     window of their previous failure
-- A failure counts in the units its component lies in (not where the complaint was made).
-- Inputs: stg_components, component_status, int_component_units, int_component_failure,
-- int_request_component, int_requests, dim_period. Params: $alarming_days.
with components as (
    select c.component_id, c.kind, coalesce(s.status_class, 'unknown') as status_class
    from stg_components as c
    left join component_status as s on s.status = c.status
),

periods as (
    select period_id, start_local, least(end_local, as_of) as end_local from dim_period
),

placed as (
    select u.unit_id, u.level, c.component_id, c.kind, c.status_class
    from int_component_units as u
    inner join components as c on c.component_id = u.component_id
),

register as (
    select
        unit_id,
        level,
        kind,
        count(*) as components,
        count(*) filter (where status_class in ('damaged', 'repair', 'disabled')) as abnormal,
        count(*) filter (where status_class = 'damaged') as damaged,
        count(*) filter (where status_class = 'repair') as under_repair,
        count(*) filter (where status_class = 'disabled') as disabled,
        count(*) filter (where status_class = 'unknown') as status_unknown
    from placed
    group by unit_id, level, kind
),

per_component as (
    select
        p.period_id,
        f.component_id,
        count(*) filter (where f.source = 'complaint') as complaints,
        count(*) filter (where f.source = 'alarm') as alarms,
        bool_or(f.is_repeat) as repeated
    from int_component_failure as f
    inner join periods as p on f.ts_local >= p.start_local and f.ts_local < p.end_local
    group by p.period_id, f.component_id
),

alarming as (
    select distinct p.period_id, f.component_id
    from int_component_failure as f
    inner join periods as p
        on f.source = 'alarm'
        and f.ts_local >= p.end_local - to_days($alarming_days)
        and f.ts_local < p.end_local
),

orders as (
    select p.period_id, l.linked_component_id as component_id, count(*) as sensor_orders
    from int_request_component as l
    inner join int_requests as r on r.request_id = l.request_id
    inner join periods as p on r.created_local >= p.start_local and r.created_local < p.end_local
    where l.link_method = 'sensor'
    group by p.period_id, l.linked_component_id
),

activity as (
    select
        c.period_id,
        u.unit_id,
        u.kind,
        cast(sum(c.complaints) as bigint) as complaints,
        cast(sum(c.alarms) as bigint) as alarms,
        count(*) as failed_components,
        count(*) filter (where c.repeated) as repeat_components
    from per_component as c
    inner join placed as u on u.component_id = c.component_id
    group by c.period_id, u.unit_id, u.kind
),

alarming_units as (
    select a.period_id, u.unit_id, u.kind, count(*) as alarming
    from alarming as a
    inner join placed as u on u.component_id = a.component_id
    group by a.period_id, u.unit_id, u.kind
),

order_units as (
    select o.period_id, u.unit_id, u.kind, cast(sum(o.sensor_orders) as bigint) as sensor_orders
    from orders as o
    inner join placed as u on u.component_id = o.component_id
    group by o.period_id, u.unit_id, u.kind
)

select
    r.unit_id,
    r.level,
    p.period_id,
    r.kind,
    r.components,
    r.abnormal,
    r.damaged,
    r.under_repair,
    r.disabled,
    r.status_unknown,
    coalesce(al.alarming, 0) as alarming,
    coalesce(a.complaints, 0) as complaints,
    coalesce(a.alarms, 0) as alarms,
    coalesce(a.complaints, 0) + coalesce(a.alarms, 0) as failures,
    coalesce(a.failed_components, 0) as failed_components,
    coalesce(a.repeat_components, 0) as repeat_components,
    coalesce(o.sensor_orders, 0) as sensor_orders
from register as r
cross join periods as p
left join activity as a
    on a.period_id = p.period_id and a.unit_id = r.unit_id and a.kind = r.kind
left join alarming_units as al
    on al.period_id = p.period_id and al.unit_id = r.unit_id and al.kind = r.kind
left join order_units as o
    on o.period_id = p.period_id and o.unit_id = r.unit_id and o.kind = r.kind
order by r.level, r.unit_id, p.period_id, r.kind
