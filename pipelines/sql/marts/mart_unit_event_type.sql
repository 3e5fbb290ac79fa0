-- The ten most frequent event types per period and unit (every level): counted per leaf,
-- then summed up the leaf's units (int_leaf_units).
-- Inputs: int_request_periods, int_request_place, int_leaf_units. Params: $primary_hierarchy.
with per_leaf as (
    select
        p.period_id,
        pl.hierarchy,
        pl.leaf_id,
        p.event_type,
        any_value(p.l4_zh) as name_zh,
        any_value(p.l4_en) as name_en,
        count(*) as requests
    from int_request_periods as p
    inner join int_request_place as pl on pl.request_id = p.request_id
    group by p.period_id, pl.hierarchy, pl.leaf_id, p.event_type
),

grouped as (
    select
        c.period_id,
        u.level,
        u.unit_id,
        c.event_type,
        any_value(c.name_zh) as name_zh,
        any_value(c.name_en) as name_en,
        sum(c.requests)::bigint as requests
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.unit_id <> '__unassigned__'
        and (u.level <> 'city' or u.hierarchy = $primary_hierarchy)
    group by c.period_id, u.level, u.unit_id, c.event_type
),

ranked as (
    select
        *,
        row_number() over (
            partition by level, unit_id, period_id order by requests desc, event_type
        ) as rank
    from grouped
)

select * from ranked where rank <= 10
