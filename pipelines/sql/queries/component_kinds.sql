-- The component kinds of the register with their display names and how many there are,
-- most numerous first. Inputs: mart_component.
select kind, kind_zh, kind_en, count(*) as components
from mart_component
group by kind, kind_zh, kind_en
order by components desc, kind
