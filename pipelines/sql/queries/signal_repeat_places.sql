-- Repeat-address clusters of one period (mart_repeat_place), optionally only those in one
-- unit (any level, any hierarchy; the city's own id filters nothing), most requests first.
-- Inputs: mart_repeat_place, dim_unit. Params: $period_id, $unit_id, $min_requests, $limit.
select *
from mart_repeat_place
where period_id = $period_id::VARCHAR
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or list_contains(unit_ids, $unit_id::VARCHAR))
    and requests >= $min_requests::BIGINT
order by place_rank
limit $limit::BIGINT
