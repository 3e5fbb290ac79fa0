-- Counts per reporting period and unit at every level of every hierarchy. Requests without
-- a unit at a level (no location, outside every unit) form that level's '__unassigned__'
-- unit, so every level sums to the city. Inputs: int_request_periods, int_request_units.
with requests as (
    select
        p.period_id,
        u.level,
        u.unit_id,
        p.is_closed,
        p.closed_1d,
        p.closed_3d,
        p.is_overdue,
        p.rating,
        p.dispatch_level,
        p.reopen_count
    from int_request_periods as p
    inner join int_request_units as u on u.request_id = p.request_id
),

grouped as (
    select
        period_id,
        level,
        unit_id,
        count(*) as requests,
        count(*) filter (where is_closed) as closed,
        count(*) filter (where not is_closed) as open,
        count(*) filter (where is_overdue) as overdue,
        count(*) filter (where is_overdue and not is_closed) as overdue_open,
        count(*) filter (where closed_1d) as closed_1d,
        count(*) filter (where closed_3d) as closed_3d,
        count(rating) as rated,
        count(*) filter (where rating in ('satisfied', 'basically_satisfied')) as satisfied,
        count(*) filter (where rating = 'dissatisfied') as dissatisfied,
        count(dispatch_level) as dispatched,
        count(*) filter (where dispatch_level = 'district') as dispatched_district,
        count(*) filter (where dispatch_level = 'street') as dispatched_street,
        count(*) filter (where dispatch_level = 'community') as dispatched_community,
        count(*) filter (where reopen_count > 0) as reopened
    from requests
    group by period_id, level, unit_id
)

select * from grouped
