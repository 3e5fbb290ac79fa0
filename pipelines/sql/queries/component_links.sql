-- Requests linked to a city component (fact_request: 'sensor' or 'nearest'), newest
-- first, optionally of one unit (where the request lies, as requests.sql; the city's id
-- filters nothing), one period, one component kind; with the component's kind and status.
-- Inputs: fact_request, fact_request_place, mart_component, dim_unit_lineage, dim_period,
-- dim_unit. Params: $unit_id, $period_id, $kind, $limit; $row_lo,
-- $row_hi (the unit's fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

period as (
    select start_local, end_local from dim_period where period_id = $period_id::VARCHAR
)

select
    r.request_id,
    r.created_local,
    r.event_type,
    r.l4_zh,
    r.l4_en,
    r.channel,
    r.link_method,
    r.linked_component_id,
    r.link_distance_m,
    c.kind,
    c.kind_zh,
    c.kind_en,
    c.status_class
from fact_request as r
inner join mart_component as c on c.component_id = r.linked_component_id
where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
    and r.link_method in ('sensor', 'nearest')
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or r.row_no in (select row_no from in_unit))
    and ($period_id::VARCHAR is null or (
        r.created_local >= (select start_local from period)
        and r.created_local < (select end_local from period)
    ))
    and ($kind::VARCHAR is null or c.kind = $kind::VARCHAR)
order by r.created_local desc, r.request_id
limit $limit::BIGINT
