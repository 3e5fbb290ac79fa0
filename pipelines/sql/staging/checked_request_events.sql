-- Type and check lifecycle events. Inputs: raw_request_events, map_event, map_level,
-- map_rating, accepted_request_ids. Params: $ts_format, $tz, $now_local, $earliest_local.
with source as (
    select * from raw_request_events
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(request_id), '') as request_id,
        trim(event) as event_raw,
        try_strptime(trim(ts), $ts_format) as ts_local,
        nullif(trim(level), '') as level_raw,
        nullif(trim(department), '') as department,
        nullif(trim(rating), '') as rating_raw,
        source as source_record
    from source
),

final as (
    select
        t.source_file,
        t.source_row,
        t.request_id,
        e.value as event,
        t.ts_local,
        timezone('UTC', timezone($tz, t.ts_local)) as ts_utc,
        l.value as dispatch_level,
        t.department,
        r.value as rating,
        t.source_record,
        case
            when t.request_id is null then 'MISSING_ID'
            when e.value is null then 'UNKNOWN_EVENT'
            when t.ts_local is null then 'BAD_TIMESTAMP'
            when t.ts_local < $earliest_local then 'SENTINEL_TIMESTAMP'
            when t.ts_local > $now_local + interval 10 minute then 'FUTURE_TIMESTAMP'
            when a.request_id is null then 'ORPHAN_EVENT'
            when e.value = 'rated' and r.value is null then 'UNKNOWN_RATING'
        end as reject_reason,
        (t.level_raw is not null and l.value is null) as flag_unknown_level
    from typed as t
    left join map_event as e on e.source_value = t.event_raw
    left join map_level as l on l.source_value = t.level_raw
    left join map_rating as r on r.source_value = t.rating_raw
    left join accepted_request_ids as a on a.request_id = t.request_id
)

select * from final
