-- Requests per period, unit and top-level class, ranked within the unit and period.
-- Inputs: int_request_periods. Params: $city_id.
with grouped as (
    select
        period_id,
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
        l1_zh,
        any_value(l1_en) as l1_en,
        count(*) as requests,
        count(*) filter (where not is_closed) as open
    from int_request_periods
    group by grouping sets (
        (period_id, l1_zh),
        (period_id, district_id, l1_zh),
        (period_id, street_id, l1_zh),
        (period_id, community_id, l1_zh)
    )
)

select
    *,
    row_number() over (
        partition by level, unit_id, period_id order by requests desc, l1_zh
    ) as rank
from grouped
where unit_id is not null
