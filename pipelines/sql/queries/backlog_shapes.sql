-- Ids and outlines of the backlog map's cells ($cells) at resolution $res.
-- Inputs: hex_shape. Params: $res, $cells.
select cell, cell_id, ring
from hex_shape
where res = $res::INTEGER and cell in (select unnest($cells::BIGINT[]))
order by cell_id
