-- Each request once per level it counts in, in every hierarchy: its leaf and the leaf's
-- ancestors, or the level's '__unassigned__' bucket when the hierarchy has no leaf for it,
-- plus the city once per hierarchy (child_id is the top-level unit holding it there, for
-- the city's heatmap drill in that hierarchy). res is the level's heatmap resolution.
-- Inputs: int_request_place, int_unit_lineage, levels. Params: $city_id.
with place as (
    select request_id, hierarchy, leaf_id from int_request_place
),

lineage as (
    select * from int_unit_lineage
),

assigned as (
    select p.request_id, p.hierarchy, l.level, l.unit_id, l.child_id
    from place as p
    inner join lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
),

unassigned as (
    select p.request_id, p.hierarchy, v.level, '__unassigned__' as unit_id,
        null::varchar as child_id
    from place as p
    inner join levels as v on v.hierarchy = p.hierarchy
    where p.leaf_id is null
),

city as (
    select p.request_id, p.hierarchy, 'city' as level, $city_id as unit_id,
        l.unit_id as child_id
    from place as p
    left join lineage as l
        on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id and l.depth = 1
),

final as (
    select u.*, v.res
    from (
        select * from assigned
        union all
        select * from unassigned
        union all
        select * from city
    ) as u
    inner join levels as v on v.level = u.level
)

select * from final
