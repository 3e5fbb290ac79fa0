-- The counts every governance metric is built from (docs/metrics.md, pipelines/metrics.toml)
-- per period and unit at every level of every hierarchy, overall (dim 'all') and, for
-- units down to $breakdown_max_depth, by top-level category and by handling department.
-- Requests without a unit at a level form that level's '__unassigned__' unit, so every
-- level sums to the city. Inputs: int_request_periods, int_request_units, levels.
-- Params: $breakdown_max_depth.
with requests as (
    select
        p.period_id,
        u.level,
        u.unit_id,
        l.depth,
        p.l1_zh,
        p.l1_en,
        p.department,
        p.is_closed,
        p.closed_1d,
        p.closed_3d,
        p.is_overdue,
        p.closed_on_time,
        p.due_decided,
        p.responded,
        p.responded_in_time,
        p.response_decided,
        p.handled_hours,
        p.rating,
        p.dispatch_level,
        p.reopen_count,
        p.is_repeat,
        p.severity,
        p.judged
    from int_request_periods as p
    inner join int_request_units as u on u.request_id = p.request_id
    inner join levels as l on l.level = u.level
),

keyed as (
    select *, 'all' as dim, '' as key, '' as key_en from requests
    union all
    select *, 'category' as dim, l1_zh as key, l1_en as key_en
    from requests where depth <= $breakdown_max_depth
    union all
    select
        *,
        'department' as dim,
        coalesce(department, '(未派单)') as key,
        coalesce(department, '(not dispatched)') as key_en
    from requests where depth <= $breakdown_max_depth
),

grouped as (
    select
        period_id,
        level,
        unit_id,
        dim,
        key,
        any_value(key_en) as key_en,
        count(*) as requests,
        count(*) filter (where is_closed) as closed,
        count(*) filter (where not is_closed) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where is_overdue and not is_closed) as overdue_open,
        count(*) filter (where closed_1d) as closed_1d,
        count(*) filter (where closed_3d) as closed_3d,
        count(*) filter (where closed_on_time) as closed_on_time,
        count(*) filter (where due_decided) as due_decided,
        count(*) filter (where responded) as responded,
        count(*) filter (where responded_in_time) as responded_in_time,
        count(*) filter (where response_decided) as response_decided,
        count(*) filter (
            where judged and is_closed and reopen_count = 0
            and rating is distinct from 'dissatisfied'
        ) as resolved,
        count(*) filter (where judged and is_closed) as closed_judged,
        count(handled_hours) as handled,
        quantile_cont(handled_hours, 0.5) as handling_hours_p50,
        quantile_cont(handled_hours, 0.9) as handling_hours_p90,
        count(rating) as rated,
        count(*) filter (where rating in ('satisfied', 'basically_satisfied')) as satisfied,
        count(*) filter (where rating = 'dissatisfied') as dissatisfied,
        count(dispatch_level) as dispatched,
        count(*) filter (where dispatch_level = 'district') as dispatched_district,
        count(*) filter (where dispatch_level = 'street') as dispatched_street,
        count(*) filter (where dispatch_level = 'community') as dispatched_community,
        count(*) filter (where reopen_count > 0) as reopened,
        count(*) filter (where reopen_count >= 2) as reopened_twice,
        count(*) filter (where is_repeat) as repeats,
        sum(severity) as severity_sum,
        -- the worry index's discontent: rated dissatisfied or reopened, of those settled
        count(*) filter (where rating = 'dissatisfied' or reopen_count > 0) as discontented,
        count(*) filter (where is_closed or rating is not null or reopen_count > 0) as settled
    from keyed
    group by period_id, level, unit_id, dim, key
)

select * from grouped
