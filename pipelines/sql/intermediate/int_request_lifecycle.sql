-- Current state of each request from its append-only event log. Inputs: stg_request_events.
-- The state is decided by event time, never by arrival order.
with events as (
    select * from stg_request_events
),

final as (
    select
        request_id,
        min(ts_local) filter (where event = 'dispatched') as dispatched_at,
        arg_max(dispatch_level, ts_local) filter (where event = 'dispatched') as dispatch_level,
        arg_max(department, ts_local) filter (where event = 'dispatched') as department,
        min(ts_local) filter (where event = 'accepted') as accepted_at,
        min(ts_local) filter (where event = 'closed') as first_closed_at,
        max(ts_local) filter (where event = 'closed') as last_closed_at,
        max(ts_local) filter (where event = 'reopened') as last_reopened_at,
        count(*) filter (where event = 'reopened') as reopen_count,
        arg_max(rating, ts_local) filter (where event = 'rated') as rating
    from events
    group by request_id
)

select * from final
