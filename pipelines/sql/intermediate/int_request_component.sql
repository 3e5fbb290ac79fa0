-- Every request with the city component it is about (one row per request, none dropped):
-- * 'sensor': the source names the component (a sensor alarm's work order): kept as given;
-- * 'nearest': the category is about some component kinds ([component_rules.link]) and a
--   component of those kinds lies within the rule's limit: the nearest one (haversine
--   metres on the mean Earth sphere; ties broken by component id);
-- * 'unmatched': a component matter with no such component within the limit (or no point);
-- * 'none': not a component matter.
-- Nearest neighbours without a spatial extension: points go into square buckets of a
-- metric grid as wide as the longest limit, so a component within a request's limit lies
-- in the request's bucket or one of its eight neighbours; only those are measured.
-- Portable SQL (floor, trigonometry, row_number): the same text runs on Spark.
-- Inputs: int_requests, stg_components, int_component_geo, component_link_rule (code,
-- kind, max_distance_m).
with requests as (
    -- a point the geocoder could not read may be NaN rather than NULL: no point either way
    select
        request_id,
        event_type,
        component_id,
        case when not isnan(lng) and not isnan(lat) then lng end as lng,
        case when not isnan(lng) and not isnan(lat) then lat end as lat
    from int_requests
),

rules as (
    select code, kind, max_distance_m from component_link_rule
),

components as (
    select c.component_id, c.kind, g.lng, g.lat
    from stg_components as c
    inner join int_component_geo as g on g.component_id = c.component_id
    where g.lng is not null and g.lat is not null and not isnan(g.lng) and not isnan(g.lat)
),

wanted as (
    -- (request, kind) pairs to measure: a component matter with a point and no named component
    select r.request_id, r.lng, r.lat, u.kind, u.max_distance_m
    from requests as r
    inner join rules as u on u.code = r.event_type
    where r.component_id is null and r.lng is not null and r.lat is not null
),

linkable as (
    select c.* from components as c where c.kind in (select kind from rules)
),

grid as (
    -- A bucket's east-west metres per degree are taken at the most poleward point, where
    -- they are fewest, so a bucket is never narrower on the ground than the longest limit
    -- (the 0.1 % keeps rounding from ever making it so).
    select
        1.001 * max(max_distance_m) as cell_m,
        cos(radians(max(abs(lat)))) as kx
    from (
        select lat, max_distance_m from wanted
        union all
        select lat, null as max_distance_m from linkable
    ) as points
),

offsets as (
    select -1 as d
    union all
    select 0 as d
    union all
    select 1 as d
),

request_buckets as (
    -- each request's own bucket and its eight neighbours
    select
        w.request_id,
        w.lng,
        w.lat,
        w.kind,
        w.max_distance_m,
        floor(w.lng * 111195.08 * g.kx / g.cell_m) + dx.d as bx,
        floor(w.lat * 111195.08 / g.cell_m) + dy.d as by_
    from wanted as w
    cross join grid as g
    cross join offsets as dx
    cross join offsets as dy
),

component_buckets as (
    select
        c.component_id,
        c.kind,
        c.lng,
        c.lat,
        floor(c.lng * 111195.08 * g.kx / g.cell_m) as bx,
        floor(c.lat * 111195.08 / g.cell_m) as by_
    from linkable as c
    cross join grid as g
),

measured as (
    select
        q.request_id,
        q.max_distance_m,
        c.component_id,
        2 * 6371008.8 * asin(sqrt(
            power(sin(radians(c.lat - q.lat) / 2), 2)
            + cos(radians(q.lat)) * cos(radians(c.lat))
            * power(sin(radians(c.lng - q.lng) / 2), 2)
        )) as distance_m
    from request_buckets as q
    inner join component_buckets as c
        on c.kind = q.kind and c.bx = q.bx and c.by_ = q.by_
),

nearest as (
    select
        request_id,
        component_id,
        distance_m,
        row_number() over (
            partition by request_id order by distance_m, component_id
        ) as rank_
    from measured
    where distance_m <= max_distance_m
),

named as (
    -- how far a sensor's work order lies from its sensor (both points as geocoded)
    select
        r.request_id,
        2 * 6371008.8 * asin(sqrt(
            power(sin(radians(c.lat - r.lat) / 2), 2)
            + cos(radians(r.lat)) * cos(radians(c.lat))
            * power(sin(radians(c.lng - r.lng) / 2), 2)
        )) as distance_m
    from requests as r
    inner join components as c on c.component_id = r.component_id
)

select
    r.request_id,
    coalesce(r.component_id, n.component_id) as linked_component_id,
    case
        when r.component_id is not null then 'sensor'
        when n.component_id is not null then 'nearest'
        when r.event_type in (select code from rules) then 'unmatched'
        else 'none'
    end as link_method,
    case
        when r.component_id is not null then s.distance_m
        else n.distance_m
    end as link_distance_m
from requests as r
left join nearest as n on n.request_id = r.request_id and n.rank_ = 1
left join named as s on s.request_id = r.request_id
