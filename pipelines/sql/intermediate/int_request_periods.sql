-- Requests exploded over the reporting periods they fall in, with their state at the
-- period's end (capped at the data's as-of time). Inputs: int_requests, dim_period.
with requests as (
    select * from int_requests
),

periods as (
    select * from dim_period
),

joined as (
    select
        p.period_id,
        least(p.end_local, p.as_of) as period_end,
        r.*
    from requests as r
    inner join periods as p
        on r.created_local >= p.start_local and r.created_local < p.end_local
),

final as (
    select
        *,
        -- Closed at period end: first closed before it and not reopened-and-still-open
        -- across it (one reopen cycle is exact; rarer repeated cycles use the first close).
        coalesce(
            first_closed_at < period_end
            and (closed_at is not null or last_reopened_at >= period_end),
            false
        ) as is_closed,
        coalesce(first_closed_at <= created_local + interval 1 day
            and first_closed_at < period_end, false) as closed_1d,
        coalesce(first_closed_at <= created_local + interval 3 day
            and first_closed_at < period_end, false) as closed_3d,
        coalesce(first_closed_at > due_at, false)
        or (coalesce(first_closed_at >= period_end, true) and due_at < period_end)
            as is_overdue
    from joined
)

select * from final
