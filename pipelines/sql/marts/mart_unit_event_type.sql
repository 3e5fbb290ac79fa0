-- The ten most frequent event types per period and unit. Inputs: int_request_periods.
-- Params: $city_id.
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
        event_type,
        any_value(l4_zh) as name_zh,
        any_value(l4_en) as name_en,
        count(*) as requests
    from int_request_periods
    group by grouping sets (
        (period_id, event_type),
        (period_id, district_id, event_type),
        (period_id, street_id, event_type),
        (period_id, community_id, event_type)
    )
),

ranked as (
    select
        *,
        row_number() over (
            partition by level, unit_id, period_id order by requests desc, event_type
        ) as rank
    from grouped
    where unit_id is not null
)

select * from ranked where rank <= 10
