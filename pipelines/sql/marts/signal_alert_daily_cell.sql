-- Daily located requests per coarse cell and level-3 class, the early-warning series of
-- cells. Only the series that reach $min_count requests on some day are kept: no other
-- can ever alert (the detector's own floor), and there are 70 times fewer of them on the
-- 1 M demo. The others of each class are summed into one series of cell 0 (the rest), so
-- the detector's pooled weekday, holiday, trend and same-day factors still see every
-- located request of the class, as they would with all series; its alerts are dropped.
-- Inputs: signal_requests. Params: $min_count.
with daily as (
    select alert_cell as cell, category, day, count(*)::BIGINT as count
    from signal_requests
    where located and category is not null
    group by alert_cell, category, day
),

kept as (
    select cell, category
    from daily
    group by cell, category
    having max(count) >= $min_count::BIGINT
)

select d.cell, d.category, d.day, d.count
from daily as d
semi join kept as k on k.cell = d.cell and k.category = d.category
union all
select 0::BIGINT as cell, d.category, d.day, sum(d.count)::BIGINT as count
from daily as d
anti join kept as k on k.cell = d.cell and k.category = d.category
group by d.category, d.day
