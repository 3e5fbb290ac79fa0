-- Requests per period, unit (every level) and top-level class, ranked within the unit
-- and period. Inputs: int_request_periods, int_request_units.
with grouped as (
    select
        p.period_id,
        u.level,
        u.unit_id,
        p.l1_zh,
        any_value(p.l1_en) as l1_en,
        count(*) as requests,
        count(*) filter (where not p.is_closed) as open
    from int_request_periods as p
    inner join int_request_units as u on u.request_id = p.request_id
    where u.unit_id <> '__unassigned__'
    group by p.period_id, u.level, u.unit_id, p.l1_zh
)

select
    *,
    row_number() over (
        partition by level, unit_id, period_id order by requests desc, l1_zh
    ) as rank
from grouped
