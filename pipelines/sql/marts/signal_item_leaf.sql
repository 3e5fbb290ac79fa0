-- The leaf units, per hierarchy, holding each item's requests, with how many and their
-- rank (1: the most, ties to the smallest id). Rank 1 is where the item is routed; all of
-- them place the item on the pages of every unit it touches.
-- Inputs: signal_item_requests (item, request_id), signal_requests, signal_place.
-- Params: $primary_hierarchy.
with places as (
    select request_id, $primary_hierarchy::VARCHAR as hierarchy, leaf_id
    from signal_requests
    where leaf_id is not null
    union all
    select request_id, hierarchy, leaf_id
    from signal_place
),

counted as (
    select i.item, p.hierarchy, p.leaf_id, count(*)::BIGINT as requests
    from signal_item_requests as i
    inner join places as p on p.request_id = i.request_id
    group by i.item, p.hierarchy, p.leaf_id
)

select
    item,
    hierarchy,
    leaf_id,
    requests,
    row_number() over (partition by item, hierarchy order by requests desc, leaf_id) as rank
from counted
order by item, hierarchy, rank
