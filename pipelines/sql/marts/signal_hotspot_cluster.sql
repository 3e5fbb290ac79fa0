-- wh.mart_hotspot_cluster: one row per hotspot cluster and period (periods of at most 90
-- days): its cells (hottest first), requests against expectation, peak, centre of its
-- excess, emerging status against the window before, top level-1 class and routing (the
-- leaf holding most of its requests and that leaf's ancestors).
-- Inputs: signal_hotspot_cluster_frame, signal_hotspot_cell_frame, signal_item_requests,
-- int_requests, signal_item_leaf, signal_route. Params: $primary_hierarchy.
with cells as (
    select
        period_id,
        cluster_id,
        list(cell order by z desc, cell) as cells,
        list(cell_id order by z desc, cell) as cell_ids
    from signal_hotspot_cell_frame
    group by period_id, cluster_id
),

classes as (
    select
        i.item,
        r.l1_zh,
        r.l1_en,
        count(*)::BIGINT as requests,
        row_number() over (
            partition by i.item order by count(*) desc, r.l1_zh, r.l1_en
        ) as rank
    from signal_item_requests as i
    inner join int_requests as r on r.request_id = i.request_id
    group by i.item, r.l1_zh, r.l1_en
)

select
    k.period_id,
    k.cluster_id,
    k.size,
    c.cells,
    c.cell_ids,
    k.requests,
    k.expected,
    k.excess,
    k.rate_ratio,
    k.peak_z,
    k.peak_cell,
    k.lng,
    k.lat,
    k.status,
    k.emerging,
    k.previous_significant_cells,
    k.previous_rate_ratio,
    t.l1_zh as top_l1_zh,
    t.l1_en as top_l1_en,
    t.requests as top_l1_requests,
    l.leaf_id,
    r.route,
    coalesce(r.unit_ids, []::VARCHAR[]) as unit_ids
from signal_hotspot_cluster_frame as k
inner join cells as c on c.period_id = k.period_id and c.cluster_id = k.cluster_id
left join classes as t on t.item = k.item and t.rank = 1
left join signal_item_leaf as l
    on l.item = k.item and l.hierarchy = $primary_hierarchy::VARCHAR and l.rank = 1
left join signal_route as r on r.item = k.item
order by k.period_id, k.cluster_id
