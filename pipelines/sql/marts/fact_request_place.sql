-- Where each request lies: its leaf in every hierarchy (NULL when unlocated), with its row
-- in fact_request, so a unit's requests are found by row number rather than by joining
-- every request id of the city.
-- Inputs: int_request_place, fact_request (the warehouse's).
select p.request_id, p.hierarchy, p.leaf_id, f.row_no
from int_request_place as p
inner join wh.fact_request as f using (request_id)
order by p.hierarchy, p.leaf_id, f.row_no
