-- Daily requests and first closures per unit (every level) over the whole window.
-- Inputs: int_requests, int_request_units.
with days as (
    select request_id, created_day as day, 1 as requests, 0 as closed from int_requests
    union all
    select request_id, cast(first_closed_at as date), 0, 1
    from int_requests
    where first_closed_at is not null
),

final as (
    select
        u.level,
        u.unit_id,
        d.day,
        sum(d.requests)::bigint as requests,
        sum(d.closed)::bigint as closed
    from days as d
    inner join int_request_units as u on u.request_id = d.request_id
    where u.unit_id <> '__unassigned__'
    group by u.level, u.unit_id, d.day
)

select * from final
