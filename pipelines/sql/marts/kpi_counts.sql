-- The counts every governance metric is built from (docs/metrics.md, pipelines/metrics.toml)
-- per period and unit at every level of every hierarchy, overall (dim 'all') and, for
-- units down to $breakdown_max_depth, by top-level category and by handling department.
-- Requests without a unit at a level form that level's '__unassigned__' unit, so every
-- level sums to the city (counted once, from the primary hierarchy).
--
-- Counts add up, so they are taken once per leaf (a request has one leaf per hierarchy)
-- and summed up the leaf's units (int_leaf_units): the request × unit product (five rows
-- per request and period in the demo) is never formed. Quantiles do not add up: they come
-- from kpi_quantiles, computed level by level over the handled requests.
-- Inputs: int_request_periods, int_request_place, int_leaf_units, kpi_quantiles.
-- Params: $breakdown_max_depth, $primary_hierarchy.
with leaf_requests as (
    select p.*, pl.hierarchy, pl.leaf_id
    from int_request_periods as p
    inner join int_request_place as pl on pl.request_id = p.request_id
),

keyed as (
    select *, 'all' as dim, '' as key, '' as key_en from leaf_requests
    union all
    select *, 'category' as dim, l1_zh as key, l1_en as key_en from leaf_requests
    union all
    select
        *,
        'department' as dim,
        coalesce(department, '(未派单)') as key,
        coalesce(department, '(not dispatched)') as key_en
    from leaf_requests
),

leaf_counts as (
    select
        period_id,
        hierarchy,
        leaf_id,
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
    group by period_id, hierarchy, leaf_id, dim, key
),

-- The units each leaf counts in (the city from the primary hierarchy only).
leaf_units as (
    select * from int_leaf_units
    where level <> 'city' or hierarchy = $primary_hierarchy
),

rolled as (
    select c.*, u.level, u.unit_id
    from leaf_counts as c
    inner join leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where c.dim = 'all' or u.depth <= $breakdown_max_depth
),

summed as (
    select
        period_id,
        level,
        unit_id,
        dim,
        key,
        any_value(key_en) as key_en,
        sum(requests)::bigint as requests,
        sum(closed)::bigint as closed,
        sum(open)::bigint as open,
        sum(overdue)::bigint as overdue,
        sum(overdue_open)::bigint as overdue_open,
        sum(closed_1d)::bigint as closed_1d,
        sum(closed_3d)::bigint as closed_3d,
        sum(closed_on_time)::bigint as closed_on_time,
        sum(due_decided)::bigint as due_decided,
        sum(responded)::bigint as responded,
        sum(responded_in_time)::bigint as responded_in_time,
        sum(response_decided)::bigint as response_decided,
        sum(resolved)::bigint as resolved,
        sum(closed_judged)::bigint as closed_judged,
        sum(handled)::bigint as handled,
        sum(rated)::bigint as rated,
        sum(satisfied)::bigint as satisfied,
        sum(dissatisfied)::bigint as dissatisfied,
        sum(dispatched)::bigint as dispatched,
        sum(dispatched_district)::bigint as dispatched_district,
        sum(dispatched_street)::bigint as dispatched_street,
        sum(dispatched_community)::bigint as dispatched_community,
        sum(reopened)::bigint as reopened,
        sum(reopened_twice)::bigint as reopened_twice,
        sum(repeats)::bigint as repeats,
        sum(severity_sum) as severity_sum,
        sum(discontented)::bigint as discontented,
        sum(settled)::bigint as settled
    from rolled
    group by period_id, level, unit_id, dim, key
),

select
    s.period_id, s.level, s.unit_id, s.dim, s.key, s.key_en, s.requests, s.closed, s.open,
    s.overdue, s.overdue_open, s.closed_1d, s.closed_3d, s.closed_on_time, s.due_decided,
    s.responded, s.responded_in_time, s.response_decided, s.resolved, s.closed_judged,
    s.handled, q.handling_hours_p50, q.handling_hours_p90, s.rated, s.satisfied,
    s.dissatisfied, s.dispatched, s.dispatched_district, s.dispatched_street,
    s.dispatched_community, s.reopened, s.reopened_twice, s.repeats, s.severity_sum,
    s.discontented, s.settled
from summed as s
left join kpi_quantiles as q using (period_id, level, unit_id, dim, key)
