-- The closed spells of reopened requests, for the backlog playback: one row per reopen
-- that undid a close, from that close to the reopen (the request was not open meanwhile).
-- With fact_request.closed_at (the last close, NULL while open) they give every request's
-- open intervals exactly, however many times it went round. Events at one instant are
-- ordered close before reopen (a zero-length spell is dropped).
-- Inputs: stg_request_events, int_requests.
with events as (
    select request_id, event, ts_local
    from stg_request_events
    where event in ('closed', 'reopened')
        and request_id in (select request_id from int_requests)
),

paired as (
    select
        request_id,
        event,
        ts_local as reopened_at,
        lag(event) over w as before,
        lag(ts_local) over w as closed_at
    from events
    window w as (partition by request_id order by ts_local, event)
)

select request_id, closed_at, reopened_at
from paired
where event = 'reopened' and before = 'closed' and closed_at < reopened_at
order by request_id, reopened_at
