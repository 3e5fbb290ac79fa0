-- A grid chief's worklist: the unit's requests open at the as-of time, most urgent first:
-- overdue (red lamp) before due soon (yellow) before on time (green); within a lamp the
-- furthest past (or nearest to) its due time first. A unit filter follows the unit's
-- hierarchy as in requests.sql (a request lies in the unit when its leaf does; the city's
-- own id filters nothing). Hours are wall-clock hours from the build's as-of time.
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_unit, meta.
-- Params: $unit_id, $limit; $row_lo, $row_hi (the unit's fact_request rows,
-- which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

as_of as (
    select cast(value as TIMESTAMP) as t from meta where key = 'as_of_local'
),

picked as (
    -- open requests of the unit, ranked on the few columns the order needs; only the
    -- $limit listed are then read whole (by row id): reading every listed column of every
    -- open request first made an empty grid's list cost as much as the city's
    select
        r.row_no,
        count(*) over () as total
    from fact_request as r
    cross join as_of as a
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and r.is_open
        and ($unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
    order by
        case r.lamp when 'red' then 0 when 'yellow' then 1 else 2 end,
        epoch(a.t - r.due_at) / 3600.0 desc nulls last,
        r.created_local,
        r.request_id
    limit $limit::BIGINT
)

select
    r.request_id,
    r.created_local,
    r.l1_zh,
    r.l1_en,
    r.l4_zh,
    r.l4_en,
    r.address,
    r.department,
    r.lamp,
    r.escalation,
    r.long_unresolved,
    r.due_at,
    r.lng,
    r.lat,
    r.component_id,
    epoch(a.t - r.created_local) / 3600.0 as age_hours,
    epoch(a.t - r.due_at) / 3600.0 as past_due_hours,
    p.total
from picked as p
inner join fact_request as r on r.row_no = p.row_no
cross join as_of as a
where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
order by
    case r.lamp when 'red' then 0 when 'yellow' then 1 else 2 end,
    past_due_hours desc nulls last,
    r.created_local,
    r.request_id
