-- Residents per cell of the finest heatmap resolution (int_cell_population), in cell order;
-- signal_marts rolls them up to the hotspot resolution.
-- Inputs: int_cell_population.
select cell, population
from int_cell_population
where cell is not null and cell <> 0 and population > 0
order by cell, source_unit
