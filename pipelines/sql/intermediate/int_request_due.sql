-- When each request's time limit runs out, counted in working time on the city's official
-- calendar (pipelines/workcal.py): statutory holidays do not count, make-up working days
-- do. Working time before an instant is the day table's working_before plus the part of
-- its own day already passed (if that day is a working day); the limit ends on the last
-- working day whose working_before is below the target. Inputs: stg_requests,
-- stg_categories, work_calendar. Params: $default_limit_hours, $tz, $utc_offset.
with requests as (
    select
        r.request_id,
        r.created_utc,
        coalesce(c.time_limit_hours, $default_limit_hours) as time_limit_hours
    from stg_requests as r
    left join stg_categories as c on c.code = r.event_type
),

working_days as (
    select * from work_calendar where is_working
),

targets as (
    select
        r.request_id,
        r.time_limit_hours,
        d.working_before
        + case
            when d.is_working then epoch(r.created_utc) - epoch(d.day_start_utc) else 0
        end
        + r.time_limit_hours * 3600.0 as target
    from requests as r
    inner join work_calendar as d
        on r.created_utc >= d.day_start_utc and r.created_utc < d.day_end_utc
),

final as (
    select
        t.request_id,
        t.time_limit_hours,
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
)

select * from final
