-- City components (城市部件) that may lie in or near a unit: those placed in one of its
-- leaves (the register's primary hierarchy) or inside a box around it (the unit's box
-- already widened by the search distance; pipelines/grid_queries.py keeps those truly
-- within it). Each with its sensor alarms (sensor-channel requests naming the component)
-- in the last $alarm_days days before the as-of time and its requests open now.
-- Inputs: dim_component, dim_unit_lineage, fact_request, meta.
-- Params: $unit_id, $minx, $miny, $maxx, $maxy, $alarm_days.
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
            and r.created_local >= a.t - to_days($alarm_days::INTEGER)
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
    c.owner,
    c.maintainer,
    c.status,
    c.lng,
    c.lat,
    coalesce(c.leaf_id in (select leaf_id from leaves), false) as in_leaf,
    coalesce(k.alarms, 0) as alarms,
    k.last_alarm,
    coalesce(k.open_requests, 0) as open_requests
from dim_component as c
left join linked as k on k.component_id = c.component_id
where (c.lng between $minx::DOUBLE and $maxx::DOUBLE
        and c.lat between $miny::DOUBLE and $maxy::DOUBLE)
    or c.leaf_id in (select leaf_id from leaves)
order by c.component_id
