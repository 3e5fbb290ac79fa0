-- wh.mart_hotspot_period: one row per period the hotspot analysis ran on, accounting for
-- every request of the window: requests = located (counted in the cells) + not_located
-- (no point, or outside every unit of the primary hierarchy).
-- Inputs: signal_hotspot_period_frame.
select *
from signal_hotspot_period_frame
order by start_local, period_id
