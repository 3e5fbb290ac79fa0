-- Each grid with its community, street and district. Inputs: units (stg_units without
-- geometry).
with units as (
    select unit_id, level, parent_id from units
),

grids as (
    select unit_id as grid_id, parent_id as community_id from units where level = 'grid'
),

communities as (
    select unit_id as community_id, parent_id as street_id
    from units where level = 'community'
),

streets as (
    select unit_id as street_id, parent_id as district_id from units where level = 'street'
),

final as (
    select g.grid_id, g.community_id, c.street_id, s.district_id
    from grids as g
    inner join communities as c on c.community_id = g.community_id
    inner join streets as s on s.street_id = c.street_id
)

select * from final
