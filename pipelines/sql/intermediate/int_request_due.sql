-- When each request's response and resolution limits run out, counted in working time on
-- the city's official calendar (pipelines/workcal.py): statutory holidays do not count,
-- make-up working days do. Working time before an instant is the day table's
-- working_before plus the part of its own day already passed (if that day is a working
-- day); a limit ends on the last working day whose working_before is below the target.
-- Inputs: stg_requests, stg_categories, work_calendar.
-- Params: $default_limit_hours, $default_response_hours, $tz, $utc_offset.
with requests as (
    select
        r.request_id,
        r.created_utc,
        coalesce(c.time_limit_hours, $default_limit_hours) as time_limit_hours,
        coalesce(c.response_limit_hours, $default_response_hours) as response_limit_hours
    from stg_requests as r
    left join stg_categories as c on c.code = r.event_type
),

working_days as (
    select * from work_calendar where is_working
),

starts as (
    -- working seconds before the creation instant
    select
        r.*,
        d.working_before
        + case
            when d.is_working then epoch(r.created_utc) - epoch(d.day_start_utc) else 0
        end as start
    from requests as r
    inner join work_calendar as d
        on r.created_utc >= d.day_start_utc and r.created_utc < d.day_end_utc
),

targets as (
    select request_id, 'resolve' as kind, start + time_limit_hours * 3600.0 as target
    from starts
    union all
    select request_id, 'respond' as kind, start + response_limit_hours * 3600.0 as target
    from starts
),

ends as (
    select
        t.request_id,
        t.kind,
        utc_to_local(
            w.day_start_utc + to_microseconds(
                round((t.target - w.working_before) * 1e6)::BIGINT
            ),
            $tz,
            $utc_offset
        ) as due_at
    from targets as t
    -- strictly before: a limit ending exactly at midnight ends the working day, not the next
    asof inner join working_days as w on t.target > w.working_before
),

final as (
    select
        s.request_id,
        s.time_limit_hours,
        s.response_limit_hours,
        s.start as working_start,
        max(e.due_at) filter (where e.kind = 'resolve') as due_at,
        max(e.due_at) filter (where e.kind = 'respond') as response_due_at
    from starts as s
    left join ends as e on e.request_id = s.request_id
    group by all
)

select * from final
