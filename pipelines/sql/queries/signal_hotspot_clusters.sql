-- The hotspot clusters of one period (mart_hotspot_cluster), optionally only those
-- touching one unit (any level, any hierarchy; the city's own id filters nothing) or only
-- the emerging ones; largest excess first.
-- Inputs: mart_hotspot_cluster, dim_unit. Params: $period_id, $unit_id, $emerging_only.
select *
from mart_hotspot_cluster
where period_id = $period_id::VARCHAR
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or list_contains(unit_ids, $unit_id::VARCHAR))
    and (not $emerging_only::BOOLEAN or coalesce(emerging, false))
order by cluster_id
