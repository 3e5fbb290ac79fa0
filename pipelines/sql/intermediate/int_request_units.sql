-- Each request once per level (the city once, from the primary hierarchy): what unit
-- breakdowns group by, so every level sums to the city. Inputs: int_request_unit_rows.
-- Params: $primary_hierarchy.
select * from int_request_unit_rows
where level <> 'city' or hierarchy = $primary_hierarchy
