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

keyed as (
    select *, hash(event_raw, ts_raw, level_raw, department, rating_raw) as content_key
    from typed
),

-- The same event delivered again (a re-sent file, overlapping exports) is a no-op: of
-- identical events of a request, the first (by file and row) counts. Grouping finds the
-- few repeated ones; only those are numbered (a window over every row costs seconds).
repeated_keys as (
    select request_id, content_key
    from keyed
    group by request_id, content_key
    having count(*) > 1
),

repeats as (
    select source_file, source_row
    from (
        select
            k.source_file,
            k.source_row,
            row_number() over (
                partition by k.request_id, k.content_key order by k.source_file, k.source_row
            ) as copy_number
        from keyed as k
        semi join repeated_keys as d
            on d.request_id = k.request_id and d.content_key = k.content_key
    )
    where copy_number > 1
),

numbered as (
    select k.*, r.source_row is not null as is_repeat
    from keyed as k
    left join repeats as r on r.source_file = k.source_file and r.source_row = k.source_row
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
        local_to_utc(greatest(t.ts_src, a.created_local), $tz, $utc_offset) as ts_utc,
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
            when t.is_repeat then 'DUPLICATE_ROW'
        end as reject_reason,
        (t.level_raw is not null and l.value is null) as flag_unknown_level,
        coalesce(t.ts_src < a.created_local, false) as flag_time_order,
        case
            when not contains($ts_format, '%z') then dst_issue(t.ts_src, $tz, $utc_offset)
        end as dst_issue
    from numbered as t
    left join map_event as e on e.source_value = t.event_raw
    left join map_level as l on l.source_value = t.level_raw
    left join map_rating as r on r.source_value = t.rating_raw
    left join accepted_requests as a on a.request_id = t.request_id
)

select * from final
