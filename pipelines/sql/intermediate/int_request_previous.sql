-- Requests of each computed period's previous window (int_worry_windows), with where they
-- lie, for the worry index's trend. Inputs: int_requests, int_worry_windows.
select w.period_id, r.request_id, r.cell, r.geo_status
from int_requests as r
inner join int_worry_windows as w
    on r.created_local >= w.prev_start and r.created_local < w.prev_end
