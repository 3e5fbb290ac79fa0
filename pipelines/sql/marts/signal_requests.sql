-- One row per accepted request with what the signal marts (pipelines/signal_marts.py) read:
-- day, level-3 class, leaf unit, place key, and the cells of the hotspot and alert
-- analyses. A request is *located* when it has a point and a leaf unit of the primary
-- hierarchy; only located requests have cells here (a point outside the city or in a gap
-- between units belongs to no one who could act on a hotspot).
-- The level-3 class of an event type: the first three parts of a dotted code
-- (01.01.01.1 -> 01.01.01); a code that is not dotted into four parts is its own class.
-- Inputs: int_requests, int_request_place.
-- Params: $primary_hierarchy, $hotspot_res, $alert_cell_res.
with place as (
    select request_id, leaf_id
    from int_request_place
    where hierarchy = $primary_hierarchy::VARCHAR
),

-- a handful of codes: the pattern runs once per code, not once per request
classes as (
    select
        event_type,
        coalesce(
            nullif(regexp_extract(event_type, '^(\d+\.\d+\.\d+)\.', 1), ''), event_type
        ) as category
    from (select distinct event_type from int_requests where event_type is not null)
),

joined as (
    select
        r.request_id,
        r.created_local,
        r.created_day as day,
        r.event_type,
        k.category,
        r.cell,
        p.leaf_id,
        p.leaf_id is not null and r.cell is not null and r.cell <> 0 as located,
        -- the rule of int_requests.sql: the address as written (spaces and case folded),
        -- else the point's fine cell
        coalesce(
            nullif(lower(regexp_replace(trim(r.address), '\s+', ' ', 'g')), ''),
            nullif(r.cell, 0)::VARCHAR
        ) as place_key
    from int_requests as r
    left join place as p on p.request_id = r.request_id
    left join classes as k on k.event_type = r.event_type
)

select
    request_id,
    created_local,
    day,
    event_type,
    category,
    leaf_id,
    located,
    case when located then h3_parent(cell, $hotspot_res::INTEGER) end as hotspot_cell,
    case when located then h3_parent(cell, $alert_cell_res::INTEGER) end as alert_cell,
    place_key
from joined
