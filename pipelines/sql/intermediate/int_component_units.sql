-- Every unit a city component lies in, at every level of every hierarchy, and the city
-- (which holds every component, located or not: nothing is dropped from the city's count).
-- Inputs: stg_components, int_component_place, int_unit_lineage. Params: $city_id.
select c.component_id, $city_id as unit_id, 'city' as level
from stg_components as c
union all
select p.component_id, l.unit_id, l.level
from int_component_place as p
inner join int_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
where p.leaf_id is not null
