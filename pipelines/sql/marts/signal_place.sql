-- The leaf unit of every placed request in the hierarchies other than the primary one
-- (whose leaf is signal_requests.leaf_id); empty for a city with one hierarchy.
-- Inputs: int_request_place. Params: $primary_hierarchy.
select request_id, hierarchy, leaf_id
from int_request_place
where leaf_id is not null and hierarchy <> $primary_hierarchy::VARCHAR
