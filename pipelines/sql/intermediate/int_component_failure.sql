-- Failures of city components, one row each: a complaint linked to the component by
-- distance (int_request_component 'nearest') or an alarm the component raised. A sensor's
-- own work order ('sensor' link) is not counted again: it is the handling of an alarm
-- counted here. A failure repeats when it comes within $repeat_window_days of the
-- component's previous failure (the previous one may lie before any period).
-- Inputs: int_request_component, int_requests, stg_component_alarms.
-- Params: $repeat_window_days.
with complaints as (
    select
        l.linked_component_id as component_id,
        r.created_local as ts_local,
        'complaint' as source,
        cast(null as varchar) as alarm_type,
        r.request_id
    from int_request_component as l
    inner join int_requests as r on r.request_id = l.request_id
    where l.link_method = 'nearest'
),

alarms as (
    select
        component_id,
        ts_local,
        'alarm' as source,
        alarm_type,
        cast(null as varchar) as request_id
    from stg_component_alarms
),

failures as (
    select * from complaints
    union all
    select * from alarms
),

ordered as (
    select
        *,
        lag(ts_local) over (
            partition by component_id order by ts_local, source, request_id
        ) as previous_local
    from failures
)

select
    component_id,
    ts_local,
    source,
    alarm_type,
    request_id,
    coalesce(
        epoch(ts_local) - epoch(previous_local) <= $repeat_window_days * 86400, false
    ) as is_repeat
from ordered
