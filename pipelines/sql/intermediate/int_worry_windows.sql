-- The window just before each computed period, as long as the period's covered days (the
-- month before a month, the 30 days before the last 30), for the worry index's trend.
-- previous_days is how much of it the data covers: 0 before the first request's day, so a
-- place shows no trend rather than a rise from nothing. Inputs: dim_period,
-- periods_to_compute, int_requests.
with windows as (
    select
        period_id,
        start_local - to_microseconds(cast(period_days * 86400e6 as bigint)) as prev_start,
        start_local as prev_end
    from dim_period
    where period_id in (select period_id from periods_to_compute)
),

data_start as (
    select date_trunc('day', min(created_local)) as first_day from int_requests
)

select
    w.period_id,
    w.prev_start,
    w.prev_end,
    greatest(0, date_diff('second', greatest(w.prev_start, d.first_day), w.prev_end))
    / 86400.0 as previous_days
from windows as w
cross join data_start as d
