-- Residents per unit read off the population surface: the cells whose leaf (in the unit's
-- hierarchy) lies under the unit, and the city as all cells. Used where the source gives
-- a level no population of its own. Inputs: int_cell_population, int_cell_place,
-- int_unit_lineage. Params: $city_id.
select l.unit_id, sum(c.population) as population
from int_cell_population as c
inner join int_cell_place as p on p.cell = c.cell
inner join int_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
group by l.unit_id
union all
select $city_id, sum(population) from int_cell_population
