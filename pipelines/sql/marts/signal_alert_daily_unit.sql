-- Daily requests per unit of the alert level and level-3 class, the early-warning series
-- of units (days without requests are zeros the detector fills in). Requests placed in no
-- unit of the primary hierarchy, or without an event type, are in no unit series.
-- Inputs: signal_requests, int_unit_lineage. Params: $primary_hierarchy, $alert_level.
with unit_of_leaf as (
    select leaf_id, unit_id
    from int_unit_lineage
    where hierarchy = $primary_hierarchy::VARCHAR and level = $alert_level::VARCHAR
)

select u.unit_id, r.category, r.day, count(*)::BIGINT as count
from signal_requests as r
inner join unit_of_leaf as u on u.leaf_id = r.leaf_id
where r.category is not null
group by u.unit_id, r.category, r.day
