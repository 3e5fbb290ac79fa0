-- The periods the hotspot analysis ran on, newest first, with their accounting (requests,
-- located, not located) and what was found.
-- Inputs: mart_hotspot_period, dim_period.
select h.*, p.kind, p.label_zh, p.label_en, p.sort_order
from mart_hotspot_period as h
inner join dim_period as p on p.period_id = h.period_id
order by p.sort_order, h.period_id
