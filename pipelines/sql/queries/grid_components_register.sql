-- The same rows as grid_components.sql for a build made before the component marts: the
-- register (dim_component, placed in the primary hierarchy), kinds as recorded, the demo
-- register's statuses classed, and sensor alarms read from the sensor-channel requests
-- naming the component in the last 30 days before the as-of time.
-- Inputs: dim_component, dim_unit_lineage, fact_request, meta.
-- Params: $unit_id, $minx, $miny, $maxx, $maxy.
with leaves as (
    select leaf_id from dim_unit_lineage where unit_id = $unit_id::VARCHAR
),

as_of as (
    select cast(value as TIMESTAMP) as t from meta where key = 'as_of_local'
),

linked as (
    select
        r.component_id,
        count(*) filter (
            where r.channel = 'sensor'
            and r.created_local >= a.t - interval 30 day
            and r.created_local < a.t
        ) as alarms,
        max(r.created_local) filter (where r.channel = 'sensor') as last_alarm,
        count(*) filter (where r.is_open) as open_requests
    from fact_request as r
    cross join as_of as a
    where r.component_id is not null
    group by r.component_id
)

select
    c.component_id,
    c.kind,
    c.kind as kind_zh,
    c.kind as kind_en,
    c.owner,
    c.maintainer,
    c.status,
    case c.status
        when '正常' then 'normal'
        when '损坏' then 'damaged'
        when '维修中' then 'repair'
        when '停用' then 'disabled'
        else 'unknown'
    end as status_class,
    c.lng,
    c.lat,
    coalesce(c.leaf_id in (select leaf_id from leaves), false) as in_area,
    coalesce(k.alarms, 0) as alarms,
    k.last_alarm,
    coalesce(k.open_requests, 0) as open_requests
from dim_component as c
left join linked as k on k.component_id = c.component_id
where (c.lng between $minx::DOUBLE and $maxx::DOUBLE
        and c.lat between $miny::DOUBLE and $maxy::DOUBLE)
    or c.leaf_id in (select leaf_id from leaves)
order by c.component_id
