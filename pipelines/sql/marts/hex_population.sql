-- Residents per (level, unit, res, cell): finest-resolution cells summed to the parent cell
-- within the unit that holds their centre. Inputs: int_cell_population, int_unit_lineage.
-- Params: $city_id, $res_city, $res_district, $res_street, $res_community.
with cells as (
    select p.cell, p.population, p.community_id, c.street_id, c.district_id
    from int_cell_population as p
    inner join (
        select distinct community_id, street_id, district_id from int_unit_lineage
    ) as c on c.community_id = p.community_id
),

per_level as (
    select 'city' as level, $city_id as unit_id, h3_parent(cell, $res_city) as cell,
        population
    from cells
    union all
    select 'district', district_id, h3_parent(cell, $res_district), population from cells
    union all
    select 'street', street_id, h3_parent(cell, $res_street), population from cells
    union all
    select 'community', community_id, h3_parent(cell, $res_community), population from cells
)

select level, unit_id, cell, round(sum(population), 2) as population
from per_level
group by level, unit_id, cell
