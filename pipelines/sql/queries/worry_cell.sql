-- One heatmap cell's worry row (index, components, counts) on one unit's map in one period.
-- The city has a map per hierarchy (they differ only in drill targets): the primary's row
-- comes first. Inputs: mart_hex, meta. Params: $level, $unit_id, $period_id, $cell.
select h.*
from mart_hex as h
where h.level = $level::VARCHAR
    and h.unit_id = $unit_id::VARCHAR
    and h.period_id = $period_id::VARCHAR
    and h.cell = $cell::BIGINT
order by
    h.hierarchy = (select value from meta where key = 'primary_hierarchy') desc, h.hierarchy
limit 1
