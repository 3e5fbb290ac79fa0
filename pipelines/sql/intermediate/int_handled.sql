-- Handled requests (closed within the period) with their leaf in every hierarchy and their
-- breakdown keys, four narrow columns: what the handling-time quantiles read
-- (marts/kpi_quantiles), once per level. Inputs: int_request_periods, int_request_place.
select
    p.period_id,
    pl.hierarchy,
    pl.leaf_id,
    p.l1_zh,
    coalesce(p.department, '(未派单)') as department,
    p.handled_hours
from int_request_periods as p
inner join int_request_place as pl on pl.request_id = p.request_id
where p.handled_hours is not null
