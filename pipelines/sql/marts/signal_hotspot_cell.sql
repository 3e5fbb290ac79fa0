-- wh.mart_hotspot_cell: the hot cells of every period of at most 90 days: significant at
-- the false-discovery rate and part of a cluster (pipelines/hotspots.py), with the
-- cluster's emerging status, routing and outline. A cell is routed by its own requests; a
-- hot cell without any (significant through its neighbours) takes its cluster's route.
-- Inputs: signal_hotspot_cell_frame, signal_hotspot_cluster_frame, signal_item_leaf,
-- signal_route. Params: $primary_hierarchy.
select
    c.period_id,
    c.cell,
    c.cell_id,
    c.res,
    c.requests,
    c.expected,
    c.excess,
    c.disk_requests,
    c.disk_expected,
    c.z,
    c.p,
    c.q,
    c.core,
    c.cluster_id,
    k.status,
    k.emerging,
    c.lng,
    c.lat,
    c.ring,
    coalesce(l.leaf_id, lk.leaf_id) as leaf_id,
    coalesce(r.route, rk.route) as route,
    coalesce(r.unit_ids, rk.unit_ids, []::VARCHAR[]) as unit_ids
from signal_hotspot_cell_frame as c
inner join signal_hotspot_cluster_frame as k
    on k.period_id = c.period_id and k.cluster_id = c.cluster_id
left join signal_item_leaf as l
    on l.item = c.item and l.hierarchy = $primary_hierarchy::VARCHAR and l.rank = 1
left join signal_route as r on r.item = c.item
left join signal_item_leaf as lk
    on lk.item = c.cluster_item and lk.hierarchy = $primary_hierarchy::VARCHAR and lk.rank = 1
left join signal_route as rk on rk.item = c.cluster_item
order by c.period_id, c.cluster_id, c.z desc, c.cell
