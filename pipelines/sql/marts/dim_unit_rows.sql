-- The first and last fact_request row of each unit's requests. fact_request is stored by the
-- primary hierarchy's leaves in depth-first order, so a unit of that hierarchy holds exactly
-- the rows between the two (a unit of another hierarchy holds some of them); queries filter
-- on the range before they test the unit, and DuckDB skips the row groups outside it.
-- Inputs: fact_request_place, int_unit_lineage.
with leaf_rows as (
    select hierarchy, leaf_id, min(row_no) as row_lo, max(row_no) as row_hi, count(*) as requests
    from wh.fact_request_place
    where leaf_id is not null
    group by hierarchy, leaf_id
)

select
    l.unit_id,
    min(r.row_lo) as row_lo,
    max(r.row_hi) as row_hi,
    sum(r.requests)::BIGINT as requests
from leaf_rows as r
inner join int_unit_lineage as l using (hierarchy, leaf_id)
group by l.unit_id
order by l.unit_id
