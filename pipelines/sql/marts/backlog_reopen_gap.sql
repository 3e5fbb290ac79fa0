-- The closed spells of reopened requests, for the backlog playback: one row per reopen
-- that undid a close, from that close to the reopen (the request was not open meanwhile).
-- With fact_request.closed_at (the last close, NULL while open) they give every request's
-- open intervals exactly, however many times it went round. Events at one instant are
-- ordered close before reopen (a zero-length spell is dropped).
-- Inputs: stg_request_events, fact_request (the warehouse's: accepted requests only).
with events as (
    select request_id, event, ts_local
    from stg_request_events
    where event in ('closed', 'reopened')
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

select g.request_id, f.row_no, g.closed_at, g.reopened_at
from paired as g
-- the request's row in fact_request: a unit's gaps are then found by its row range
inner join wh.fact_request as f using (request_id)
where g.event = 'reopened' and g.before = 'closed' and g.closed_at < g.reopened_at
order by f.row_no, g.reopened_at
