-- Current state of each request from its append-only event log. Inputs: stg_request_events.
-- The state is decided by event time, never by arrival order; events at the same instant
-- are ordered by their values, so any permutation of the log gives the same state.
with events as (
    select * from stg_request_events
),

latest as (
    select
        request_id,
        min(ts_local) filter (where event = 'dispatched') as dispatched_at,
        arg_max(
            {'level': dispatch_level, 'department': department},
            {'ts': ts_local, 'level': dispatch_level, 'department': department}
        ) filter (where event = 'dispatched') as last_dispatch,
        min(ts_local) filter (where event = 'accepted') as accepted_at,
        min(ts_local) filter (where event = 'closed') as first_closed_at,
        max(ts_local) filter (where event = 'closed') as last_closed_at,
        max(ts_local) filter (where event = 'reopened') as last_reopened_at,
        count(*) filter (where event = 'reopened') as reopen_count,
        arg_max(rating, {'ts': ts_local, 'rating': rating}) filter (where event = 'rated')
            as rating
    from events
    group by request_id
),

final as (
    select
        request_id,
        dispatched_at,
        last_dispatch.level as dispatch_level,
        last_dispatch.department as department,
        accepted_at,
        first_closed_at,
        last_closed_at,
        last_reopened_at,
        reopen_count,
        rating
    from latest
)

select * from final
