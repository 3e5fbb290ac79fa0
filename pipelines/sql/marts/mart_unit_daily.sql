-- Daily requests and first closures per unit (every level) over the whole window: counted
-- per leaf, then summed up the leaf's units (int_leaf_units).
-- Inputs: int_requests, int_request_place, int_leaf_units. Params: $primary_hierarchy.
with days as (
    select request_id, created_day as day, 1 as requests, 0 as closed from int_requests
    union all
    select request_id, cast(first_closed_at as date), 0, 1
    from int_requests
    where first_closed_at is not null
),

per_leaf as (
    select
        pl.hierarchy,
        pl.leaf_id,
        d.day,
        sum(d.requests) as requests,
        sum(d.closed) as closed
    from days as d
    inner join int_request_place as pl on pl.request_id = d.request_id
    group by pl.hierarchy, pl.leaf_id, d.day
),

final as (
    select
        u.level,
        u.unit_id,
        c.day,
        sum(c.requests)::bigint as requests,
        sum(c.closed)::bigint as closed
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.unit_id <> '__unassigned__'
        and (u.level <> 'city' or u.hierarchy = $primary_hierarchy)
    group by u.level, u.unit_id, c.day
)

select * from final
