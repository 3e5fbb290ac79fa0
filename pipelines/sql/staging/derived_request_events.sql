-- Lifecycle events of a source without an event log, from its request status columns: one
-- event per accepted request, "closed" at closed_at when the status means closed, else
-- "reported" at the creation time. The status text is the event, so an unmapped status is
-- quarantined by the events check with reason UNKNOWN_STATUS. Times are written as local
-- '%Y-%m-%d %H:%M:%S' (a close time that does not parse is passed on as it came, to be
-- quarantined BAD_TIMESTAMP). Inputs: stg_requests, map_status. Params: $ts_format, $tz.
select
    r.request_id,
    r.status_raw as event,
    case
        when s.value = 'closed' then coalesce(
            strftime(parse_local(r.closed_at_raw, $ts_format, $tz), '%Y-%m-%d %H:%M:%S'),
            r.closed_at_raw
        )
        else strftime(r.created_local, '%Y-%m-%d %H:%M:%S')
    end as ts,
    null::varchar as level,
    null::varchar as department,
    null::varchar as rating,
    r.source_file,
    r.source_row
from stg_requests as r
left join map_status as s on s.source_value = r.status_raw
