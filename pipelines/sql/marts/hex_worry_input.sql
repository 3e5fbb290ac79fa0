-- Cell counts shaped for worry_scored: residents of the cell within the unit, period
-- length. Inputs: hex_base, hex_population, dim_period.
select
    h.*,
    coalesce(hp.population, 0) as population,
    p.period_days
from hex_base as h
inner join dim_period as p on p.period_id = h.period_id
left join hex_population as hp
    on hp.level = h.level and hp.unit_id = h.unit_id and hp.cell = h.cell
