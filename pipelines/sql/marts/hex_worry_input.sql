-- Cell counts shaped for the worry index (pipelines/worry.py): residents of the cell within
-- the unit, period length, and the cell's requests in the window before (its length covered
-- by data: previous_days). Inputs: hex_base, hex_population, dim_period,
-- int_request_previous, int_request_place, int_leaf_units, levels, int_worry_windows.
-- Params: $population_floor (residents assumed at least in the raw rate).
with per_leaf as (
    select
        q.period_id,
        pl.hierarchy,
        pl.leaf_id,
        h3_parent(q.cell, (select max(res) from levels)) as cell,
        count(*) as previous_requests
    from int_request_previous as q
    inner join int_request_place as pl on pl.request_id = q.request_id
    where q.geo_status in ('interior', 'exact', 'overlap', 'snapped', 'outside')
    group by all
),

previous as (
    select
        c.period_id,
        u.hierarchy,
        u.level,
        u.unit_id,
        h3_parent(c.cell, u.res) as cell,
        sum(c.previous_requests)::bigint as previous_requests
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.unit_id <> '__unassigned__'
    group by all
)

select
    h.*,
    coalesce(hp.population, 0) as population,
    p.period_days,
    h.requests * 10000.0 * 30
    / (greatest(coalesce(hp.population, 0), $population_floor) * greatest(p.period_days, 1))
        as requests_per_10k_30d,
    h.open / nullif(h.requests, 0)::double as backlog_share,
    h.dissatisfied / nullif(h.rated, 0)::double as dissatisfied_share,
    coalesce(v.previous_requests, 0) as previous_requests,
    coalesce(w.previous_days, 0) as previous_days
from hex_base as h
inner join dim_period as p on p.period_id = h.period_id
left join hex_population as hp
    on hp.level = h.level and hp.unit_id = h.unit_id and hp.cell = h.cell
left join previous as v
    on v.period_id = h.period_id and v.hierarchy = h.hierarchy and v.level = h.level
    and v.unit_id = h.unit_id and v.cell = h.cell
left join int_worry_windows as w on w.period_id = h.period_id
