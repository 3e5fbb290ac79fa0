-- Component health (mart_component_health) of the units of $level in a period, with
-- names: one row per unit, summed over kinds (or per unit and kind with $by_kind), of one
-- kind only with $kind; optionally only the children of $parent_id or one $unit_id.
-- abnormal_share is abnormal / components (NULL without components).
-- Inputs: mart_component_health, dim_unit. Params: $level, $period_id, $parent_id,
-- $unit_id, $kind, $by_kind.
with picked as (
    select
        h.unit_id,
        case when $by_kind::BOOLEAN then h.kind end as kind,
        h.components,
        h.abnormal,
        h.damaged,
        h.under_repair,
        h.disabled,
        h.status_unknown,
        h.alarming,
        h.complaints,
        h.alarms,
        h.failures,
        h.failed_components,
        h.repeat_components,
        h.sensor_orders
    from mart_component_health as h
    inner join dim_unit as u on u.unit_id = h.unit_id
    where h.level = $level::VARCHAR
        and h.period_id = $period_id::VARCHAR
        and ($parent_id::VARCHAR is null or u.parent_id = $parent_id::VARCHAR)
        and ($unit_id::VARCHAR is null or h.unit_id = $unit_id::VARCHAR)
        and ($kind::VARCHAR is null or h.kind = $kind::VARCHAR)
),

summed as (
    select
        unit_id,
        kind,
        cast(sum(components) as BIGINT) as components,
        cast(sum(abnormal) as BIGINT) as abnormal,
        cast(sum(damaged) as BIGINT) as damaged,
        cast(sum(under_repair) as BIGINT) as under_repair,
        cast(sum(disabled) as BIGINT) as disabled,
        cast(sum(status_unknown) as BIGINT) as status_unknown,
        cast(sum(alarming) as BIGINT) as alarming,
        cast(sum(complaints) as BIGINT) as complaints,
        cast(sum(alarms) as BIGINT) as alarms,
        cast(sum(failures) as BIGINT) as failures,
        cast(sum(failed_components) as BIGINT) as failed_components,
        cast(sum(repeat_components) as BIGINT) as repeat_components,
        cast(sum(sensor_orders) as BIGINT) as sensor_orders
    from picked
    group by unit_id, kind
)

select
    s.unit_id,
    u.level,
    u.parent_id,
    u.name_zh,
    u.name_en,
    s.kind,
    s.* exclude (unit_id, kind),
    s.abnormal / nullif(s.components, 0) as abnormal_share
from summed as s
inner join dim_unit as u on u.unit_id = s.unit_id
order by s.failures desc, s.repeat_components desc, s.abnormal desc, s.unit_id, s.kind
