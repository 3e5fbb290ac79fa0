-- Repeat-address clusters (同址重复诉求) of one period in a unit (any level, any hierarchy;
-- the city's own id filters nothing), most requests first, with how many of each place's
-- requests are still open and the hours since its latest request (from the as-of time).
-- Inputs: mart_repeat_place, fact_request, dim_unit, meta.
-- Params: $period_id, $unit_id, $min_requests, $limit.
with places as (
    select *
    from mart_repeat_place
    where period_id = $period_id::VARCHAR
        and ($unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or list_contains(unit_ids, $unit_id::VARCHAR))
        and requests >= $min_requests::BIGINT
),

as_of as (
    select cast(value as TIMESTAMP) as t from meta where key = 'as_of_local'
),

members as (
    select place_key, unnest(request_ids) as request_id from places
),

open_counts as (
    -- matched against the open requests only: a join with every request cost a probe of
    -- the whole fact table for a few hundred members
    select m.place_key, count(*) as open
    from members as m
    inner join (select request_id from fact_request where is_open) as r
        on r.request_id = m.request_id
    group by m.place_key
)

select
    p.place_rank,
    p.place_key,
    p.address,
    p.category_zh,
    p.category_en,
    p.l4_zh,
    p.l4_en,
    p.requests,
    p.first_at,
    p.last_at,
    p.span_days,
    p.lng,
    p.lat,
    coalesce(o.open, 0) as open,
    epoch(a.t - p.last_at) / 3600.0 as since_last_hours,
    count(*) over () as total
from places as p
cross join as_of as a
left join open_counts as o on o.place_key = p.place_key
order by p.place_rank
limit $limit::BIGINT
