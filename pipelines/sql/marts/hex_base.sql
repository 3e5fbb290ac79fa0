-- Counts per period, cockpit level, unit and H3 cell at that level's resolution, from the
-- unit's own points only (a cell on a boundary is split between units, never clipped).
-- child_id is the child unit holding most of the cell's requests (ties: the smallest id),
-- so clicking the hex drills there. The city has one set of rows per hierarchy (they
-- differ only in child_id); it maps every request located inside its outline.
-- Requests are counted per leaf and cell at the finest heatmap resolution first, then summed
-- up the leaf's units (int_leaf_units) into each unit's cells (a cell's parent at a coarser
-- resolution is the parent of its finer parent).
-- Inputs: int_request_periods, int_request_place, int_leaf_units, levels.
with requests as (
    select * from int_request_periods
    where geo_status in ('interior', 'exact', 'overlap', 'snapped', 'outside')
),

per_leaf as (
    select
        pl.hierarchy,
        pl.leaf_id,
        p.period_id,
        h3_parent(p.cell, (select max(res) from levels)) as cell,
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
    inner join int_request_place as pl on pl.request_id = p.request_id
    group by all
),

per_child as (
    select
        u.hierarchy,
        u.level,
        u.unit_id,
        c.period_id,
        u.res,
        h3_parent(c.cell, u.res) as cell,
        u.child_id,
        sum(c.requests) as requests,
        sum(c.open) as open,
        sum(c.overdue) as overdue,
        sum(c.rated) as rated,
        sum(c.dissatisfied) as dissatisfied,
        sum(c.repeats) as repeats,
        sum(c.severity_sum) as severity_sum,
        sum(c.overdue_open) as overdue_open,
        sum(c.discontented) as discontented,
        sum(c.settled) as settled
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.unit_id <> '__unassigned__'
    group by u.hierarchy, u.level, u.unit_id, c.period_id, u.res, h3_parent(c.cell, u.res),
        u.child_id
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
