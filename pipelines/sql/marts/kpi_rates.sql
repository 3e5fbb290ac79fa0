-- Rates from kpi_counts: each metric's numerator ÷ denominator, named and described in
-- pipelines/metrics.toml (a test checks every rate here against its registry entry).
-- A rate with an empty denominator is NULL ("—"), never 0. Inputs: kpi_counts.
select
    *,
    closed / nullif(requests, 0)::double as completion_rate,
    closed_1d / nullif(requests, 0)::double as closed_1d_share,
    closed_3d / nullif(requests, 0)::double as closed_3d_share,
    closed_on_time / nullif(due_decided, 0)::double as on_time_rate,
    overdue / nullif(requests, 0)::double as overdue_share,
    responded_in_time / nullif(response_decided, 0)::double as response_rate,
    resolved / nullif(closed_judged, 0)::double as resolution_rate,
    satisfied / nullif(rated, 0)::double as satisfaction_rate,
    reopened / nullif(handled, 0)::double as reopen_rate,
    repeats / nullif(requests, 0)::double as repeat_rate,
    dispatched_district / nullif(dispatched, 0)::double as dispatch_district_share,
    dispatched_street / nullif(dispatched, 0)::double as dispatch_street_share,
    dispatched_community / nullif(dispatched, 0)::double as dispatch_community_share
from kpi_counts
