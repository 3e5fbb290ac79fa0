-- Type and check raw requests. One row out per row in; reject_reason is NULL when accepted.
-- Inputs: raw_requests (canonical VARCHAR columns), map_channel, map_event_type (a source's
-- own type codes onto the category table's; unmapped codes pass through). Params:
-- $ts_format, $tz, $now_local (ingest time in the source's zone), $earliest_local (older
-- means a sentinel).
with source as (
    select * from raw_requests
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(request_id), '') as request_id,
        nullif(trim(created_at), '') is null as created_missing,
        parse_local(trim(created_at), $ts_format, $tz) as created_local,
        parse_utc(trim(created_at), $ts_format, $tz, $utc_offset) as created_utc,
        trim(channel) as channel_raw,
        nullif(trim(event_type), '') as event_type,
        nullif(trim(address), '') as address,
        description,
        try_cast(lng as double) as lng_src,
        try_cast(lat as double) as lat_src,
        nullif(trim(component_id), '') as component_id,
        nullif(trim(status), '') as status_raw,
        nullif(trim(closed_at), '') as closed_at_raw,
        parse_local(trim(updated_at), $ts_format, $tz) as updated_local,
        -- what a copy says, without where it was read from: equal hashes are one record
        hash(struct_pack(*columns(* exclude (source_file, source_row))))
            as content_hash,
        source as source_record
    from source
),

usable as (
    select
        *,
        coalesce(
            created_local between $earliest_local and $now_local + interval 10 minute, false
        ) as is_usable
    from typed
),

ranked as (
    select
        *,
        -- The copy that wins: usable first (a broken copy must not shadow a good one),
        -- then the latest source update time (a genuine update replaces the record, never
        -- by arrival order), then file and row.
        row_number() over copies as copy_number,
        first_value(content_hash) over copies as winner_hash,
        first_value(updated_local) over copies as winner_updated
    from usable
    window copies as (
        partition by request_id
        order by not is_usable, updated_local desc nulls last, source_file, source_row
    )
),

final as (
    select
        r.source_file,
        r.source_row,
        r.request_id,
        r.created_local,
        r.created_utc,
        coalesce(m.value, 'other') as channel,
        r.channel_raw,
        coalesce(t.value, r.event_type) as event_type,
        r.event_type as event_type_raw,
        r.address,
        r.description,
        r.lng_src,
        r.lat_src,
        r.component_id,
        r.status_raw,
        r.closed_at_raw,
        r.updated_local,
        r.source_record,
        case
            when r.request_id is null then 'MISSING_ID'
            when r.created_missing then 'MISSING_TIMESTAMP'
            when r.created_local is null then 'BAD_TIMESTAMP'
            when r.created_local < $earliest_local then 'SENTINEL_TIMESTAMP'
            when r.created_local > $now_local + interval 10 minute then 'FUTURE_TIMESTAMP'
            -- the same record again (overlapping exports, a re-sent file): a no-op
            when r.copy_number > 1 and r.content_hash = r.winner_hash then 'DUPLICATE_ROW'
            -- an older version of a record updated since: kept here as its history
            when r.copy_number > 1 and r.updated_local < r.winner_updated then 'SUPERSEDED'
            -- different content, no update time to order them: the first copy wins
            when r.copy_number > 1 then 'DUPLICATE_ID'
        end as reject_reason,
        m.value is null as flag_unknown_channel,
        -- a time given with its offset is an instant: it cannot fall in a DST gap or overlap
        case
            when not contains($ts_format, '%z')
                then dst_issue(r.created_local, $tz, $utc_offset)
        end as dst_issue,
        -- Text that a spreadsheet would run as a formula (=, +, -, @ first) or a browser as
        -- markup: kept (it is evidence), flagged, and escaped by every export and renderer.
        coalesce(
            regexp_matches(r.description, '^\s*[=+\-@]')
            or regexp_matches(lower(r.description), '<\s*(script|iframe|img)|javascript:')
            or regexp_matches(r.address, '^\s*[=+@]')
            or regexp_matches(lower(r.address), '<\s*(script|iframe|img)|javascript:'),
            false
        ) as flag_active_content
    from ranked as r
    left join map_channel as m on m.source_value = r.channel_raw
    left join map_event_type as t on t.source_value = r.event_type
)

select * from final
