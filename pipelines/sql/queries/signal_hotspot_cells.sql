-- The hot cells of one period (mart_hotspot_cell), optionally only those lying in one
-- unit (any level, any hierarchy; the city's own id filters nothing).
-- Inputs: mart_hotspot_cell, dim_unit. Params: $period_id, $unit_id.
select *
from mart_hotspot_cell
where period_id = $period_id::VARCHAR
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or list_contains(unit_ids, $unit_id::VARCHAR))
order by cluster_id, z desc, cell
