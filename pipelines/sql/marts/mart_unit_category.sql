-- Requests per period, unit (every level) and top-level class, ranked within the unit
-- and period: counted per leaf, then summed up the leaf's units (int_leaf_units).
-- Inputs: int_request_periods, int_request_place, int_leaf_units. Params: $primary_hierarchy.
with per_leaf as (
    select
        p.period_id,
        pl.hierarchy,
        pl.leaf_id,
        p.l1_zh,
        any_value(p.l1_en) as l1_en,
        count(*) as requests,
        count(*) filter (where not p.is_closed) as open
    from int_request_periods as p
    inner join int_request_place as pl on pl.request_id = p.request_id
    group by p.period_id, pl.hierarchy, pl.leaf_id, p.l1_zh
),

grouped as (
    select
        c.period_id,
        u.level,
        u.unit_id,
        c.l1_zh,
        any_value(c.l1_en) as l1_en,
        sum(c.requests)::bigint as requests,
        sum(c.open)::bigint as open
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.unit_id <> '__unassigned__'
        and (u.level <> 'city' or u.hierarchy = $primary_hierarchy)
    group by c.period_id, u.level, u.unit_id, c.l1_zh
)

select
    *,
    row_number() over (
        partition by level, unit_id, period_id order by requests desc, l1_zh
    ) as rank
from grouped
