-- One row per accepted request with place, category, lifecycle, time limits and whether it
-- repeats an earlier request (same type, same place, within the repeat window), and whether
-- its caller (phone key) called in the 30 days before. Narrow: no description or contact.
-- Inputs: stg_requests, int_request_geo, int_request_lifecycle, stg_categories,
-- int_request_due, category_severity (code, severity: the worry index's category weight). Params: $default_limit_hours, $repeat_window_days.
with requests as (
    select * from stg_requests
),

geo as (
    select * from int_request_geo
),

lifecycle as (
    select * from int_request_lifecycle
),

categories as (
    select * from stg_categories
),

joined as (
    select
        r.request_id,
        r.created_local,
        r.created_utc,
        cast(r.created_local as date) as created_day,
        r.channel,
        r.event_type,
        coalesce(c.l1_zh, '未分类') as l1_zh,
        coalesce(c.l1_en, 'Unclassified') as l1_en,
        coalesce(c.l4_zh, r.event_type, '未分类') as l4_zh,
        coalesce(c.l4_en, r.event_type, 'Unclassified') as l4_en,
        coalesce(c.time_limit_hours, $default_limit_hours) as time_limit_hours,
        coalesce(sv.severity, 1.0) as severity,
        du.response_limit_hours,
        du.response_due_at,
        du.working_start,
        -- the limit in working time (int_request_due); natural time only where the
        -- calendar does not reach (it spans the data plus 400 days)
        coalesce(
            du.due_at,
            r.created_local + to_hours(coalesce(c.time_limit_hours, $default_limit_hours))
        ) as due_at,
        -- the place as written (repeats and repeat places read it); the description and
        -- contact columns stay in stg_requests until fact_request: every model between
        -- carries these rows, and a 10 M city's texts made them spill
        r.address,
        r.component_id,
        g.lng,
        g.lat,
        g.cell,
        g.geo_status,
        lc.dispatched_at,
        lc.dispatch_level,
        lc.department,
        lc.accepted_at,
        lc.first_closed_at,
        case
            when lc.last_closed_at is not null
                and (lc.last_reopened_at is null or lc.last_closed_at > lc.last_reopened_at)
                then lc.last_closed_at
        end as closed_at,
        lc.last_reopened_at,
        coalesce(lc.reopen_count, 0) as reopen_count,
        lc.rating,
        date_diff('second', r.created_local, lc.first_closed_at) / 3600.0 as handling_hours
    from requests as r
    left join geo as g on g.request_id = r.request_id
    left join lifecycle as lc on lc.request_id = r.request_id
    left join categories as c on c.code = r.event_type
    left join category_severity as sv on sv.code = r.event_type
    left join int_request_due as du on du.request_id = r.request_id
),

-- The repeat flags come from windows over narrow rows (id, time, type, place, caller):
-- a window keeps every column of its rows, and the whole request rows (descriptions and
-- all) of a 10 M city do not fit in the build's memory limit.
keys as (
    select
        r.request_id,
        r.created_local,
        r.event_type,
        r.contact_phone_key,
        -- where "the same place" is decided: the address as written (spaces and case
        -- folded), else the point's fine cell; no place, no repeat
        coalesce(
            nullif(lower(regexp_replace(trim(r.address), '\s+', ' ', 'g')), ''),
            g.cell::VARCHAR
        ) as place_key
    from requests as r
    left join geo as g on g.request_id = r.request_id
),

repeats as (
    select
        request_id,
        place_key is not null and coalesce(
            lag(created_local) over (
                partition by event_type, place_key order by created_local, request_id
            ) >= created_local - to_days($repeat_window_days::INTEGER),
            false
        ) as is_repeat
    from keys
),

callers as (
    -- the same caller (phone key) reported something in the 30 days before
    select
        request_id,
        coalesce(
            lag(created_local) over (
                partition by contact_phone_key order by created_local, request_id
            ) >= created_local - interval 30 day,
            false
        ) as is_repeat_caller
    from keys
    where contact_phone_key is not null
),

final as (
    select
        j.*,
        coalesce(rp.is_repeat, false) as is_repeat,
        coalesce(c.is_repeat_caller, false) as is_repeat_caller
    from joined as j
    left join repeats as rp on rp.request_id = j.request_id
    left join callers as c on c.request_id = j.request_id
)

select * from final
