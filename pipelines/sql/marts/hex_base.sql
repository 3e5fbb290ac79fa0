-- Counts per period, cockpit level, unit and H3 cell at that level's resolution, from the
-- unit's own points only (a cell on a boundary is split between units, never clipped).
-- child_id is the child unit holding most of the cell's requests: clicking the hex drills
-- there. Inputs: int_request_periods. Params: $city_id, $res_city, $res_district,
-- $res_street, $res_community.
with requests as (
    select * from int_request_periods where grid_id is not null
),

per_level as (
    select 'city' as level, $city_id as unit_id, district_id as child_id,
        $res_city as res, h3_parent(cell, $res_city) as cell, period_id, is_closed,
        is_overdue, rating
    from requests
    union all
    select 'district', district_id, street_id, $res_district,
        h3_parent(cell, $res_district), period_id, is_closed, is_overdue, rating
    from requests
    union all
    select 'street', street_id, community_id, $res_street,
        h3_parent(cell, $res_street), period_id, is_closed, is_overdue, rating
    from requests
    union all
    select 'community', community_id, grid_id, $res_community,
        h3_parent(cell, $res_community), period_id, is_closed, is_overdue, rating
    from requests
),

final as (
    select
        level,
        unit_id,
        period_id,
        res,
        cell,
        count(*) as requests,
        count(*) filter (where not is_closed) as open,
        count(*) filter (where is_overdue) as overdue,
        count(rating) as rated,
        count(*) filter (where rating = 'dissatisfied') as dissatisfied,
        mode(child_id) as child_id
    from per_level
    group by level, unit_id, period_id, res, cell
)

select * from final
