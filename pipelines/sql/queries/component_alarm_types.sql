-- Sensor alarms of one unit in a period by alarm type (and kind with $by_kind), most
-- first, with the type's display names.
-- Inputs: mart_component_alarm_type, dim_component_alarm_type.
-- Params: $unit_id, $period_id, $kind, $by_kind.
with picked as (
    select
        alarm_type,
        case when $by_kind::BOOLEAN then kind end as kind,
        cast(sum(alarms) as BIGINT) as alarms
    from mart_component_alarm_type
    where unit_id = $unit_id::VARCHAR
        and period_id = $period_id::VARCHAR
        and ($kind::VARCHAR is null or kind = $kind::VARCHAR)
    group by alarm_type, case when $by_kind::BOOLEAN then kind end
)

select
    p.alarm_type,
    coalesce(t.alarm_type_zh, p.alarm_type) as alarm_type_zh,
    coalesce(t.alarm_type_en, p.alarm_type) as alarm_type_en,
    p.kind,
    p.alarms
from picked as p
left join dim_component_alarm_type as t on t.alarm_type = p.alarm_type
order by p.alarms desc, p.alarm_type
