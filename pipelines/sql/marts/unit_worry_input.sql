-- Unit counts shaped for worry_scored: residents, period length, parent (the unassigned
-- bucket hangs under the city). Inputs: kpi_rates (dim 'all'), dim_period, units.
-- Params: $city_id.
select
    k.*,
    null::integer as res,
    case when k.unit_id = '__unassigned__' then $city_id else u.parent_id end as parent_id,
    coalesce(u.population, 0) as population,
    p.period_days
from kpi_rates as k
inner join dim_period as p on p.period_id = k.period_id
left join units as u on u.unit_id = k.unit_id
where k.dim = 'all'
