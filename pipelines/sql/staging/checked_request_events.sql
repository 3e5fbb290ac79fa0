-- Type and check lifecycle events. Inputs: raw_request_events, map_event, map_level,
-- map_rating, accepted_requests (request_id, created_local). Params: $ts_format, $tz,
-- $now_local, $earliest_local, $derived (events come from a status column: an unmapped
-- value is an unknown status, not an unknown event).
with source as (
    select * from raw_request_events
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(request_id), '') as request_id,
        trim(event) as event_raw,
        ts as ts_raw,
        parse_local(trim(ts), $ts_format, $tz) as ts_src,
        nullif(trim(level), '') as level_raw,
        nullif(trim(department), '') as department,
        nullif(trim(rating), '') as rating_raw,
        source as source_record
    from source
),

numbered as (
    select
        *,
        -- the same event delivered again (a re-sent file, overlapping exports) is a no-op
        row_number() over (
            partition by request_id, event_raw, ts_raw, level_raw, department, rating_raw
            order by source_file, source_row
        ) as copy_number
    from typed
),

final as (
    select
        t.source_file,
        t.source_row,
        t.request_id,
        e.value as event,
        -- An event stamped before its request was created (LA closes some requests at
        -- midnight of the day they came in) is kept at the creation time and flagged, so
        -- durations are never negative and the request still counts as closed.
        greatest(t.ts_src, a.created_local) as ts_local,
        local_to_utc(greatest(t.ts_src, a.created_local), $tz) as ts_utc,
        t.ts_src,
        l.value as dispatch_level,
        t.department,
        r.value as rating,
        t.source_record,
        case
            when t.request_id is null then 'MISSING_ID'
            when e.value is null and $derived then 'UNKNOWN_STATUS'
            when e.value is null then 'UNKNOWN_EVENT'
            when nullif(trim(t.ts_raw), '') is null then 'MISSING_TIMESTAMP'
            when t.ts_src is null then 'BAD_TIMESTAMP'
            when t.ts_src < $earliest_local then 'SENTINEL_TIMESTAMP'
            when t.ts_src > $now_local + interval 10 minute then 'FUTURE_TIMESTAMP'
            when a.request_id is null then 'ORPHAN_EVENT'
            when e.value = 'rated' and r.value is null then 'UNKNOWN_RATING'
            when t.copy_number > 1 then 'DUPLICATE_ROW'
        end as reject_reason,
        (t.level_raw is not null and l.value is null) as flag_unknown_level,
        coalesce(t.ts_src < a.created_local, false) as flag_time_order,
        case when not contains($ts_format, '%z') then dst_issue(t.ts_src, $tz) end as dst_issue
    from numbered as t
    left join map_event as e on e.source_value = t.event_raw
    left join map_level as l on l.source_value = t.level_raw
    left join map_rating as r on r.source_value = t.rating_raw
    left join accepted_requests as a on a.request_id = t.request_id
)

select * from final
