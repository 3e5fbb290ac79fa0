-- Counts per period, cockpit level, unit and H3 cell at that level's resolution, from the
-- unit's own points only (a cell on a boundary is split between units, never clipped).
-- child_id is the child unit holding most of the cell's requests (ties: the smallest id),
-- so clicking the hex drills there. The city has one set of rows per hierarchy (they
-- differ only in child_id); it maps every request located inside its outline.
-- Inputs: int_request_periods, int_request_unit_rows.
with requests as (
    select * from int_request_periods
    where geo_status in ('interior', 'exact', 'overlap', 'snapped', 'outside')
),

per_child as (
    select
        u.hierarchy,
        u.level,
        u.unit_id,
        p.period_id,
        u.res,
        h3_parent(p.cell, u.res) as cell,
        u.child_id,
        count(*) as requests,
        count(*) filter (where not p.is_closed) as open,
        count(*) filter (where p.is_overdue) as overdue,
        count(p.rating) as rated,
        count(*) filter (where p.rating = 'dissatisfied') as dissatisfied,
        count(*) filter (where p.is_repeat) as repeats,
        sum(p.severity) as severity_sum,
        count(*) filter (where p.is_overdue and not p.is_closed) as overdue_open,
        count(*) filter (where p.rating = 'dissatisfied' or p.reopen_count > 0) as discontented,
        count(*) filter (where p.is_closed or p.rating is not null or p.reopen_count > 0)
            as settled
    from requests as p
    inner join int_request_unit_rows as u on u.request_id = p.request_id
    where u.unit_id <> '__unassigned__'
    group by u.hierarchy, u.level, u.unit_id, p.period_id, u.res, h3_parent(p.cell, u.res), u.child_id
),

final as (
    select
        hierarchy,
        level,
        unit_id,
        period_id,
        res,
        cell,
        sum(requests)::bigint as requests,
        sum(open)::bigint as open,
        sum(overdue)::bigint as overdue,
        sum(rated)::bigint as rated,
        sum(dissatisfied)::bigint as dissatisfied,
        sum(repeats)::bigint as repeats,
        sum(severity_sum) as severity_sum,
        sum(overdue_open)::bigint as overdue_open,
        sum(discontented)::bigint as discontented,
        sum(settled)::bigint as settled,
        arg_min(child_id, {'n': -requests, 'id': child_id}) as child_id
    from per_child
    group by hierarchy, level, unit_id, period_id, res, cell
)

select * from final
