-- Type and check raw requests. One row out per row in; reject_reason is NULL when accepted.
-- Inputs: raw_requests (canonical VARCHAR columns), map_channel. Params: $ts_format, $tz,
-- $now_local (ingest time in the source's zone), $earliest_local (older means a sentinel).
with source as (
    select * from raw_requests
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(request_id), '') as request_id,
        try_strptime(trim(created_at), $ts_format) as created_local,
        trim(channel) as channel_raw,
        nullif(trim(event_type), '') as event_type,
        nullif(trim(address), '') as address,
        description,
        try_cast(lng as double) as lng_src,
        try_cast(lat as double) as lat_src,
        nullif(trim(component_id), '') as component_id,
        source as source_record
    from source
),

ranked as (
    select
        *,
        -- the first usable copy wins: a broken first copy must not shadow a good second one
        row_number() over (
            partition by request_id
            order by created_local is null, source_file, source_row
        ) as copy_number
    from typed
),

final as (
    select
        r.source_file,
        r.source_row,
        r.request_id,
        r.created_local,
        timezone('UTC', timezone($tz, r.created_local)) as created_utc,
        coalesce(m.value, 'other') as channel,
        r.channel_raw,
        r.event_type,
        r.address,
        r.description,
        r.lng_src,
        r.lat_src,
        r.component_id,
        r.source_record,
        case
            when r.request_id is null then 'MISSING_ID'
            when r.created_local is null then 'BAD_TIMESTAMP'
            when r.created_local < $earliest_local then 'SENTINEL_TIMESTAMP'
            when r.created_local > $now_local + interval 10 minute then 'FUTURE_TIMESTAMP'
            when r.copy_number > 1 then 'DUPLICATE_ID'
        end as reject_reason,
        m.value is null as flag_unknown_channel,
        -- Text that a spreadsheet would run as a formula (=, +, -, @ first) or a browser as
        -- markup: kept (it is evidence), flagged, and escaped by every export and renderer.
        coalesce(
            regexp_matches(r.description, '^\s*[=+\-@]')
            or regexp_matches(lower(r.description), '<\s*(script|iframe|img)|javascript:'),
            false
        ) as flag_active_content
    from ranked as r
    left join map_channel as m on m.source_value = r.channel_raw
)

select * from final
