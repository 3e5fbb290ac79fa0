-- City components of a unit gathered into the H3 cells of resolution $res, one row per
-- kind and cell: counts by status class, alarming sensors, failures of the last 30 days
-- and the components' mean position (where the cell's marker goes). The parent cell is
-- bit arithmetic on the component's point cell (as the build's h3_parent macro).
-- Inputs: mart_component, fact_component_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id, $kind, $res.
with in_unit as (
    select p.component_id
    from fact_component_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

picked as (
    select
        c.*,
        (c.cell & ~(15::BIGINT << 52)) | ($res::BIGINT << 52)
        | ((1::BIGINT << (3 * (15 - $res::INTEGER))) - 1) as parent_cell
    from mart_component as c
    where c.cell is not null
        and ($unit_id::VARCHAR is null
            or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or c.component_id in (select component_id from in_unit))
        and ($kind::VARCHAR is null or c.kind = $kind::VARCHAR)
)

select
    kind,
    any_value(kind_zh) as kind_zh,
    any_value(kind_en) as kind_en,
    parent_cell as cell,
    count(*) as components,
    count(*) filter (where status_class = 'normal') as normal,
    count(*) filter (where status_class = 'damaged') as damaged,
    count(*) filter (where status_class = 'repair') as under_repair,
    count(*) filter (where status_class = 'disabled') as disabled,
    count(*) filter (where status_class = 'unknown') as status_unknown,
    count(*) filter (where alarming) as alarming,
    cast(sum(failures_30d) as BIGINT) as failures_30d,
    avg(lng) as lng,
    avg(lat) as lat
from picked
group by kind, parent_cell
order by kind, parent_cell
