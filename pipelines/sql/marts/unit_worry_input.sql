-- Unit counts shaped for worry_scored: residents, period length, parent (the unassigned
-- bucket hangs under the city). Inputs: unit_kpi_base, dim_period, units. Params: $city_id.
select
    k.*,
    null::integer as res,
    case when k.unit_id = '__unassigned__' then $city_id else u.parent_id end as parent_id,
    coalesce(u.population, 0) as population,
    p.period_days
from unit_kpi_base as k
inner join dim_period as p on p.period_id = k.period_id
left join units as u on u.unit_id = k.unit_id
