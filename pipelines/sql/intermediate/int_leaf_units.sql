-- The units each leaf counts in, per hierarchy: the leaf and its ancestors, the level's
-- '__unassigned__' bucket for requests without a leaf (leaf_id NULL), and the city once
-- per hierarchy for every leaf (child_id: the top-level unit holding the leaf there, for
-- the city heatmap's drill). res is the level's heatmap resolution.
--
-- Counts add up, so marts count requests once per leaf (a request has one leaf per
-- hierarchy, int_request_place) and sum those counts up this small table, instead of
-- forming one row per request and unit (five per request in the demo, and per period).
-- Join it on hierarchy and ``leaf_id IS NOT DISTINCT FROM`` (NULL is "no leaf"); unit
-- counts take the city from the primary hierarchy only.
-- Inputs: int_unit_lineage, levels. Params: $city_id.
with lineage as (
    select * from int_unit_lineage
),

assigned as (
    select hierarchy, leaf_id, level, unit_id, child_id from lineage
),

unassigned as (
    select
        hierarchy,
        null::varchar as leaf_id,
        level,
        '__unassigned__' as unit_id,
        null::varchar as child_id
    from levels
    where hierarchy is not null
),

leaves as (
    select distinct hierarchy, leaf_id from lineage
    union
    select distinct hierarchy, null::varchar as leaf_id from levels where hierarchy is not null
),

city as (
    select f.hierarchy, f.leaf_id, 'city' as level, $city_id as unit_id, l.unit_id as child_id
    from leaves as f
    left join lineage as l
        on l.hierarchy = f.hierarchy and l.leaf_id = f.leaf_id and l.depth = 1
),

final as (
    select u.*, v.res, v.depth
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
