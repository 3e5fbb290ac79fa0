-- Request-level rows at the as-of time, filtered: what api.requests() returns and what the
-- SLA view lists. A unit filter follows the unit's hierarchy (a request lies in the unit
-- when its leaf does; the city's id filters nothing); every filter is optional (NULL = all).
-- The rows are picked on the few columns the filters and the order need, and only the
-- picked rows are read whole (by row number, within the unit's rows): reading every column of every matching row
-- first cost 3-5x more on the 1 M demo, most of it in the long text columns.
-- $columns (NULL = all) limits what is returned to the named columns.
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_period, dim_unit.
-- Params: $unit_id, $period_id, $category, $department, $open_only, $lamp,
-- $long_unresolved_only, $min_escalation, $limit, $columns; $row_lo, $row_hi (the unit's
-- fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

period as (
    select start_local, end_local from dim_period where period_id = $period_id::VARCHAR
),

picked as (
    select r.row_no
    from fact_request as r
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and ($unit_id::VARCHAR is null
            -- the city's own id places nothing out
            or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
        and ($period_id::VARCHAR is null or (
            r.created_local >= (select start_local from period)
            and r.created_local < (select end_local from period)
        ))
        and ($category::VARCHAR is null or r.l1_zh = $category::VARCHAR
            or r.l1_en = $category::VARCHAR or r.event_type = $category::VARCHAR)
        and ($department::VARCHAR is null or r.department = $department::VARCHAR)
        and (not $open_only::BOOLEAN or r.is_open)
        and ($lamp::VARCHAR is null or r.lamp = $lamp::VARCHAR)
        and (not $long_unresolved_only::BOOLEAN or r.long_unresolved)
        and r.escalation >= $min_escalation::INTEGER
    order by
        r.escalation desc, r.open_working_hours desc nulls last, r.created_local, r.request_id
    limit $limit::BIGINT
)

-- the phone key stays in the warehouse (repeat-caller figures): no list or export shows it
select columns(lambda c: c <> 'contact_phone_key'
    and ($columns::VARCHAR[] is null or list_contains($columns::VARCHAR[], c)))
from fact_request as r
semi join picked as p on p.row_no = r.row_no
where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
order by r.escalation desc, r.open_working_hours desc nulls last, r.created_local, r.request_id
