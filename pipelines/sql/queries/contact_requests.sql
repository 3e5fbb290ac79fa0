-- What a request's citizen said and how to reach them, masked (issue 7): the scrubbed
-- description and the masked name and phone of the given requests that lie in the unit (a
-- request lies in the unit when its leaf does, in any hierarchy; the city's own id places
-- nothing out). The phone key never leaves the warehouse this way.
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id, $request_ids (a list); $row_lo, $row_hi (the unit's fact_request rows,
-- which queries.run_query looks up: a request in the unit lies between them).
with wanted as (
    select unnest($request_ids::VARCHAR[]) as request_id
),

in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
        and p.row_no between $row_lo::BIGINT and $row_hi::BIGINT
),

picked as (
    -- found on the id among the unit's rows alone, then read whole by row id: scanning the
    -- long text columns of every row group an id might be in cost 2-3x more
    select r.row_no
    from fact_request as r
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and r.request_id in (select request_id from wanted)
        and ($unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
)

select
    r.request_id,
    r.description,
    r.contact_name_masked,
    r.contact_phone_masked
from picked as p
inner join fact_request as r on r.row_no = p.row_no
where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
order by r.request_id
