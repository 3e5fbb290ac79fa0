-- The same counts and rates per unit and period split by top-level category and by
-- handling department (dim, key), for units down to the breakdown depth: the department
-- league table and the category rates. Inputs: kpi_rates, units. Params: $city_id.
select
    k.*,
    case when k.unit_id = '__unassigned__' then $city_id else u.parent_id end as parent_id
from kpi_rates as k
left join units as u on u.unit_id = k.unit_id
where k.dim <> 'all'
order by k.level, k.unit_id, k.period_id, k.dim, k.key
