-- Each request once per cockpit level it counts in: the city (always), and its district,
-- street and community when it has a grid. child_id is the unit one level down; res is the
-- level's heatmap resolution. Breakdown marts join this instead of repeating level logic.
-- Inputs: int_requests. Params: $city_id, $res_city, $res_district, $res_street,
-- $res_community.
with requests as (
    select request_id, district_id, street_id, community_id, grid_id from int_requests
),

final as (
    select request_id, 'city' as level, $city_id as unit_id, district_id as child_id,
        $res_city as res
    from requests
    union all
    select request_id, 'district', district_id, street_id, $res_district
    from requests where grid_id is not null
    union all
    select request_id, 'street', street_id, community_id, $res_street
    from requests where grid_id is not null
    union all
    select request_id, 'community', community_id, grid_id, $res_community
    from requests where grid_id is not null
)

select * from final
