-- wh.mart_alert: early-warning alerts over the whole data span, one row per episode (alert
-- days of one series merged with a cool-down), unit series and cell series, with the
-- storms folded: same-day alerts of one class in many units are one city-wide alert.
-- Inputs: signal_alert_frame, signal_alert_folded, signal_classes, signal_item_leaf,
-- signal_route. Params: $primary_hierarchy, $leaf_level.
with folded as (
    select item, list(unit_id order by unit_id) as folded_unit_ids
    from signal_alert_folded
    group by item
)

select
    f.alert_id,
    f.series,
    f.city_wide,
    f.unit_id,
    f.unit_level,
    f.cell,
    f.cell_id,
    f.category,
    n.category_zh,
    n.category_en,
    n.l1_zh,
    n.l1_en,
    f.first_day::DATE as day,
    f.first_day::DATE as first_day,
    f.last_day::DATE as last_day,
    f.alert_days,
    f.peak_day::DATE as peak_day,
    f.observed,
    f.expected,
    f.ratio,
    f.p_value,
    f.severity,
    f.first_severity,
    f.escalated::DATE as escalated,
    f.requests,
    f.excess,
    f.units_folded,
    coalesce(d.folded_unit_ids, []::VARCHAR[]) as folded_unit_ids,
    f.cells_folded,
    f.lng,
    f.lat,
    coalesce(
        l.leaf_id, case when f.unit_level = $leaf_level::VARCHAR then f.unit_id end
    ) as leaf_id,
    r.route,
    coalesce(r.unit_ids, []::VARCHAR[]) as unit_ids
from signal_alert_frame as f
left join signal_classes as n on n.category = f.category
left join folded as d on d.item = f.item
left join signal_item_leaf as l
    on l.item = f.item and l.hierarchy = $primary_hierarchy::VARCHAR and l.rank = 1
left join signal_route as r on r.item = f.item
order by f.first_day, f.city_wide desc, f.series desc, f.severity desc, f.alert_id
