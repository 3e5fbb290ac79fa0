-- Each item's route (level -> responsible unit id, coarse to fine, primary hierarchy
-- first) and every unit it belongs to (the filter of the read queries). Rows marked
-- ``own`` are the item's responsible units; the others (the other leaves a cluster touches,
-- the units a city-wide alert folded) only place it on more pages.
-- Inputs: signal_route_frame (item, level, unit_id, own), levels.
with rows as (
    select f.item, f.level, f.unit_id, f.own, l.sort_order
    from signal_route_frame as f
    inner join levels as l on l.level = f.level
),

routes as (
    select
        item,
        map_from_entries(
            list(struct_pack(k := level, v := unit_id) order by sort_order)
        ) as route
    from (select distinct item, level, unit_id, sort_order from rows where own)
    group by item
),

members as (
    select item, list(distinct unit_id order by unit_id) as unit_ids
    from rows
    group by item
)

select m.item, r.route, m.unit_ids
from members as m
left join routes as r on r.item = m.item
