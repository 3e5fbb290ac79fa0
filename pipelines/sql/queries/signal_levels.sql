-- The levels below the city, coarse to fine (the keys of a signal row's route).
-- Inputs: dim_level.
select level
from dim_level
where level <> 'city'
order by sort_order, level
