-- Open requests of a unit at the as-of time by traffic light and escalation level, plus
-- the long-unresolved count. Inputs: fact_request, fact_request_place, dim_unit_lineage.
-- Params: $unit_id (NULL: the whole city), $row_lo, $row_hi (the unit's
-- fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

scoped as (
    -- the unit's rows only (its row range, then its leaves), and of those the rows that some
    -- count below counts
    select is_open, lamp, response_overdue, escalation, long_unresolved
    from fact_request
    where row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and (is_open or response_overdue or long_unresolved or escalation in (1, 2, 3)
            or lamp is not null)
        and ($unit_id::VARCHAR is null or row_no in (select row_no from in_unit))
)

select
    count(*) filter (where is_open) as open_now,
    count(*) filter (where lamp = 'green') as green,
    count(*) filter (where lamp = 'yellow') as yellow,
    count(*) filter (where lamp = 'red') as red,
    count(*) filter (where response_overdue) as response_overdue,
    count(*) filter (where escalation = 1) as escalation_1,
    count(*) filter (where escalation = 2) as escalation_2,
    count(*) filter (where escalation = 3) as escalation_3,
    count(*) filter (where long_unresolved and is_open) as long_unresolved_open,
    count(*) filter (where long_unresolved) as long_unresolved
from scoped
