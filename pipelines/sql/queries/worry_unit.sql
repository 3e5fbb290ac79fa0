-- One unit's worry row (index, components, priors, counts) in one period.
-- Inputs: mart_unit_kpi. Params: $level, $unit_id, $period_id.
select k.*
from mart_unit_kpi as k
where k.level = $level::VARCHAR
    and k.unit_id = $unit_id::VARCHAR
    and k.period_id = $period_id::VARCHAR
