-- Repeat-address clusters (同址重复诉求) of one period in a unit (any level, any hierarchy;
-- the city's own id filters nothing), most requests first, with how many of each place's
-- requests are still open (counted by the build) and the hours since its latest request
-- (from the as-of time).
-- Inputs: mart_repeat_place, dim_unit, meta.
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
    p.open_requests as open,
    epoch(a.t - p.last_at) / 3600.0 as since_last_hours,
    count(*) over () as total
from places as p
cross join as_of as a
order by p.place_rank
limit $limit::BIGINT
