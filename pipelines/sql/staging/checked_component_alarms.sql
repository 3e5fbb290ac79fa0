-- Type and check sensor alarms. Inputs: raw_component_alarms, stg_components_ids.
-- Params: $ts_format, $tz, $now_local, $earliest_local.
with source as (
    select * from raw_component_alarms
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(component_id), '') as component_id,
        parse_local(trim(ts), $ts_format, $tz) as ts_local,
        nullif(trim(alarm_type), '') as alarm_type,
        source as source_record
    from source
)

select
    t.*,
    local_to_utc(t.ts_local, $tz, $utc_offset) as ts_utc,
    case
        when t.component_id is null then 'MISSING_ID'
        when t.ts_local is null then 'BAD_TIMESTAMP'
        when t.ts_local < $earliest_local then 'SENTINEL_TIMESTAMP'
        when t.ts_local > $now_local + interval 10 minute then 'FUTURE_TIMESTAMP'
        when c.component_id is null then 'ORPHAN_ALARM'
    end as reject_reason
from typed as t
left join accepted_component_ids as c on c.component_id = t.component_id
