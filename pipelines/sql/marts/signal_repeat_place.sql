-- wh.mart_repeat_place: repeat-address clusters (同址重复诉求) of every period: one place
-- and one event type reported again and again, each request within the repeat window of
-- the one before, at least three requests; with names, requests, how many of them are open
-- at the as-of time, and routing.
-- Inputs: signal_repeat_frame, signal_item_requests, int_requests, signal_requests,
-- signal_classes, signal_item_leaf, signal_route. Params: $primary_hierarchy.
with members as (
    select
        i.item,
        list(r.request_id order by r.created_local, r.request_id) as request_ids,
        count(*) filter (where r.closed_at is null) as open_requests,
        min(r.l1_zh) as l1_zh,
        min(r.l1_en) as l1_en,
        min(r.l4_zh) as l4_zh,
        min(r.l4_en) as l4_en,
        min(s.category) as category
    from signal_item_requests as i
    inner join int_requests as r on r.request_id = i.request_id
    inner join signal_requests as s on s.request_id = i.request_id
    group by i.item
)

select
    f.period_id,
    f.place_rank,
    f.place_key,
    f.address,
    f.event_type,
    m.l1_zh,
    m.l1_en,
    m.category,
    k.category_zh,
    k.category_en,
    m.l4_zh,
    m.l4_en,
    f.requests,
    f.first_at,
    f.last_at,
    f.span_days,
    f.lng,
    f.lat,
    m.request_ids,
    m.open_requests,
    l.leaf_id,
    r.route,
    coalesce(r.unit_ids, []::VARCHAR[]) as unit_ids
from signal_repeat_frame as f
inner join members as m on m.item = f.item
left join signal_classes as k on k.category = m.category
left join signal_item_leaf as l
    on l.item = f.item and l.hierarchy = $primary_hierarchy::VARCHAR and l.rank = 1
left join signal_route as r on r.item = f.item
order by f.period_id, f.place_rank
