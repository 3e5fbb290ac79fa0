-- The requests of each cell alert: its cell and class, on the days of the episode.
-- Inputs: signal_requests, signal_alert_cell_frame (item, cell, category, first_day,
-- last_day).
select a.item, r.request_id
from signal_alert_cell_frame as a
inner join signal_requests as r
    on r.alert_cell = a.cell
    and r.category = a.category
    and r.day between a.first_day and a.last_day
where r.located
