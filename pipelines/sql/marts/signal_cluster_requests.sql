-- The requests of each hotspot item (a cluster or a cell of a period): located requests in
-- the item's window whose hotspot cell is one of the item's cells.
-- Inputs: signal_requests, signal_item_cells_frame (item, cell, t0, t1).
select i.item, r.request_id
from signal_item_cells_frame as i
inner join signal_requests as r
    on r.hotspot_cell = i.cell
    and r.created_local >= i.t0
    and r.created_local < i.t1
where r.located
