-- How the requests of a unit (where they lie; the city's id filters nothing) in a period
-- came to a component: counts by link method ('sensor', 'nearest', 'unmatched', 'none').
-- With $kind, only requests linked to a component of that kind are counted (an unmatched
-- request has no component, hence no kind).
-- Inputs: fact_request, fact_request_place, mart_component, dim_unit_lineage, dim_period,
-- dim_unit. Params: $unit_id, $period_id, $kind; $row_lo, $row_hi
-- (the unit's fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

period as (
    select start_local, end_local from dim_period where period_id = $period_id::VARCHAR
)

select r.link_method, count(*) as requests
from fact_request as r
left join mart_component as c on c.component_id = r.linked_component_id
where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or r.row_no in (select row_no from in_unit))
    and ($period_id::VARCHAR is null or (
        r.created_local >= (select start_local from period)
        and r.created_local < (select end_local from period)
    ))
    and ($kind::VARCHAR is null or c.kind = $kind::VARCHAR)
group by r.link_method
order by r.link_method
