-- Unit counts shaped for the worry index (pipelines/worry.py): residents, period length,
-- parent (the unassigned bucket hangs under the city), and the requests of the window
-- before (its length covered by data: previous_days). Inputs: kpi_rates (dim 'all'),
-- dim_period, units, levels, int_request_previous, int_request_place, int_leaf_units,
-- int_worry_windows. Params: $city_id, $primary_hierarchy, $population_floor (residents
-- assumed at least in the raw rate).
with per_leaf as (
    select q.period_id, pl.hierarchy, pl.leaf_id, count(*) as previous_requests
    from int_request_previous as q
    inner join int_request_place as pl on pl.request_id = q.request_id
    group by all
),

previous as (
    select c.period_id, u.level, u.unit_id, sum(c.previous_requests)::bigint as previous_requests
    from per_leaf as c
    inner join int_leaf_units as u
        on u.hierarchy = c.hierarchy and u.leaf_id is not distinct from c.leaf_id
    where u.level <> 'city' or u.hierarchy = $primary_hierarchy
    group by c.period_id, u.level, u.unit_id
)

select
    k.*,
    null::integer as res,
    l.depth,
    case when k.unit_id = '__unassigned__' then $city_id else u.parent_id end as parent_id,
    coalesce(u.population, 0) as population,
    p.period_days,
    k.requests * 10000.0 * 30
    / (greatest(coalesce(u.population, 0), $population_floor) * greatest(p.period_days, 1))
        as requests_per_10k_30d,
    k.open / nullif(k.requests, 0)::double as backlog_share,
    k.dissatisfied / nullif(k.rated, 0)::double as dissatisfied_share,
    coalesce(v.previous_requests, 0) as previous_requests,
    coalesce(w.previous_days, 0) as previous_days
from kpi_rates as k
inner join dim_period as p on p.period_id = k.period_id
left join units as u on u.unit_id = k.unit_id
left join levels as l on l.level = k.level
left join previous as v
    on v.period_id = k.period_id and v.level = k.level and v.unit_id = k.unit_id
left join int_worry_windows as w on w.period_id = k.period_id
where k.dim = 'all'
