-- Daily requests and first closures per unit (city to community) over the whole window.
-- Inputs: int_requests. Params: $city_id.
with created as (
    select created_day as day, district_id, street_id, community_id, 1 as requests,
        0 as closed
    from int_requests
    union all
    select cast(first_closed_at as date), district_id, street_id, community_id, 0, 1
    from int_requests
    where first_closed_at is not null
),

grouped as (
    select
        case
            when grouping(community_id) = 0 then 'community'
            when grouping(street_id) = 0 then 'street'
            when grouping(district_id) = 0 then 'district'
            else 'city'
        end as level,
        case
            when grouping(community_id) = 0 then community_id
            when grouping(street_id) = 0 then street_id
            when grouping(district_id) = 0 then district_id
            else $city_id
        end as unit_id,
        day,
        sum(requests)::bigint as requests,
        sum(closed)::bigint as closed
    from created
    group by grouping sets (
        (day), (day, district_id), (day, street_id), (day, community_id)
    )
)

select * from grouped where unit_id is not null
