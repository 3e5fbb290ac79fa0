-- One unit's metrics in one period split by category or by handling department (the
-- department league table). Inputs: mart_unit_breakdown.
-- Params: $level, $unit_id, $period_id, $dim.
select *
from mart_unit_breakdown
where level = $level and unit_id = $unit_id and period_id = $period_id and dim = $dim
order by requests desc, key
