-- City components (mart_component) that may lie in or near a unit: those placed in it (a
-- component lies in a unit when its leaf does, in any hierarchy) or inside a box around it
-- (the unit's box already widened by the search distance; pipelines/grid_queries.py keeps
-- those truly within it). With the mart's kind names, status class and sensor alarms of
-- the last 30 days, and the requests naming the component that are open now.
-- Inputs: mart_component, fact_component_place, dim_unit_lineage, fact_request.
-- Params: $unit_id, $minx, $miny, $maxx, $maxy.
with in_unit as (
    select p.component_id
    from fact_component_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

open_linked as (
    select component_id, count(*) as open_requests
    from fact_request
    where component_id is not null and is_open
    group by component_id
)

select
    c.component_id,
    c.kind,
    c.kind_zh,
    c.kind_en,
    c.owner,
    c.maintainer,
    c.status,
    c.status_class,
    c.lng,
    c.lat,
    c.component_id in (select component_id from in_unit) as in_area,
    c.alarms_30d as alarms,
    c.last_alarm_at as last_alarm,
    coalesce(o.open_requests, 0) as open_requests
from mart_component as c
left join open_linked as o on o.component_id = c.component_id
where (c.lng between $minx::DOUBLE and $maxx::DOUBLE
        and c.lat between $miny::DOUBLE and $maxy::DOUBLE)
    or c.component_id in (select component_id from in_unit)
order by c.component_id
