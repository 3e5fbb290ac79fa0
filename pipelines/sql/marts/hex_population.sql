-- Residents per (level, unit, res, cell): finest-resolution cells summed to the parent cell
-- within the unit that holds their centre. Inputs: int_cell_population, int_cell_place,
-- int_unit_lineage, levels. Params: $city_id, $res_city.
with per_level as (
    select l.level, l.unit_id, h3_parent(c.cell, v.res) as cell, c.population
    from int_cell_population as c
    inner join int_cell_place as p on p.cell = c.cell
    inner join int_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    inner join levels as v on v.level = l.level
    union all
    select 'city', $city_id, h3_parent(cell, $res_city), population
    from int_cell_population
)

select level, unit_id, cell, round(sum(population), 2) as population
from per_level
group by level, unit_id, cell
