-- Counts per reporting period and admin unit at every level, in one pass (grouping sets).
-- Requests without a grid (no location, outside every unit) form the '__unassigned__'
-- unit of each level, so every level sums to the city. Inputs: int_request_periods.
-- Params: $city_id.
with requests as (
    select
        period_id,
        coalesce(district_id, '__unassigned__') as district_key,
        coalesce(street_id, '__unassigned__') as street_key,
        coalesce(community_id, '__unassigned__') as community_key,
        coalesce(grid_id, '__unassigned__') as grid_key,
        is_closed,
        closed_1d,
        closed_3d,
        is_overdue,
        rating,
        dispatch_level,
        reopen_count
    from int_request_periods
),

grouped as (
    select
        period_id,
        case
            when grouping(grid_key) = 0 then 'grid'
            when grouping(community_key) = 0 then 'community'
            when grouping(street_key) = 0 then 'street'
            when grouping(district_key) = 0 then 'district'
            else 'city'
        end as level,
        coalesce(grid_key, community_key, street_key, district_key, $city_id) as unit_id,
        count(*) as requests,
        count(*) filter (where is_closed) as closed,
        count(*) filter (where not is_closed) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where is_overdue and not is_closed) as overdue_open,
        count(*) filter (where closed_1d) as closed_1d,
        count(*) filter (where closed_3d) as closed_3d,
        count(rating) as rated,
        count(*) filter (where rating in ('satisfied', 'basically_satisfied')) as satisfied,
        count(*) filter (where rating = 'dissatisfied') as dissatisfied,
        count(dispatch_level) as dispatched,
        count(*) filter (where dispatch_level = 'district') as dispatched_district,
        count(*) filter (where dispatch_level = 'street') as dispatched_street,
        count(*) filter (where dispatch_level = 'community') as dispatched_community,
        count(*) filter (where reopen_count > 0) as reopened
    from requests
    group by grouping sets (
        (period_id),
        (period_id, district_key),
        (period_id, street_key),
        (period_id, community_key),
        (period_id, grid_key)
    )
)

select * from grouped
