-- Requests exploded over the reporting periods they fall in, with their state at the
-- period's end (capped at the data's as-of time). Inputs: int_requests, dim_period.
with requests as (
    select * from int_requests
),

source_has as (
    -- a source without acceptance events (LA's extracts) has no response figures at all,
    -- rather than a response rate of zero
    select
        count(accepted_at) > 0 as acceptances,
        -- resolution is judged by ratings and reopens; a source with neither has no
        -- resolution figures rather than a resolution rate of 100 %
        count(rating) > 0 or max(reopen_count) > 0 as judged
    from int_requests
),

periods as (
    select * from dim_period
),

joined as (
    select
        p.period_id,
        least(p.end_local, p.as_of) as period_end,
        -- the address stays behind: marts count, and a 10 M city's texts repeated for
        -- every period they fall in do not fit in the build's memory
        r.* exclude (address),
        h.acceptances,
        h.judged
    from requests as r
    cross join source_has as h
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
            as is_overdue,
        -- on time: first closed within the limit; decided once closed or past due
        coalesce(first_closed_at <= due_at and first_closed_at < period_end, false)
            as closed_on_time,
        coalesce(first_closed_at < period_end, false) or due_at < period_end as due_decided,
        acceptances and coalesce(accepted_at < period_end, false) as responded,
        acceptances and coalesce(
            accepted_at <= response_due_at and accepted_at < period_end, false
        ) as responded_in_time,
        acceptances and (coalesce(accepted_at < period_end, false)
            or response_due_at < period_end) as response_decided,
        case when first_closed_at < period_end then handling_hours end as handled_hours
    from joined
)

select * from final
