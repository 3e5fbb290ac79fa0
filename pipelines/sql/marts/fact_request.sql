-- One row per accepted request as it stands at the data's as-of time: what the notebook
-- API's requests() returns and what the SLA view lists. Open requests get a traffic light
-- (green; yellow once $yellow_at of the limit's working time has passed; red when overdue),
-- the working hours they have been open, and an escalation level; long-unresolved (久拖不决)
-- requests are those open longer than $long_open_hours working hours or reopened
-- $long_reopens times or more (docs/metrics.md). Places are in fact_request_place. The
-- city component a request is about (int_request_component: sensor, nearest, unmatched or
-- none) rides along, one link per request.
-- Rows are stored by place, then time: by the primary hierarchy's leaves in depth-first
-- order (every unit's leaves are one run of it), then created_local; the unlocated last.
-- row_no is the row's position, so a unit's requests lie between two row numbers
-- (dim_unit_rows) and a query given them reads the unit's row groups only (DuckDB's zone
-- maps) instead of every request of the city.
-- Inputs: int_requests, stg_requests (the description and contact columns), work_calendar,
-- int_request_component, int_request_place, int_unit_lineage. Params: $as_of_local,
-- $as_of_utc, $yellow_at, $long_open_hours, $long_reopens, $primary_hierarchy.
with requests as (
    select * from int_requests
),

texts as (
    -- the columns int_requests leaves behind (it stays narrow for the models between)
    select
        request_id,
        description,
        contact_name_masked,
        contact_phone_masked,
        contact_phone_key
    from stg_requests
),

now as (
    -- working seconds before the as-of instant, on the same basis as working_start
    select
        working_before
        + case when is_working then epoch($as_of_utc) - epoch(day_start_utc) else 0 end
            as working_now
    from work_calendar
    where $as_of_utc >= day_start_utc and $as_of_utc < day_end_utc
),

leaf_order as (
    -- leaves by their path from the top (lists compare element by element, so the leaves
    -- under one unit sort together whatever characters the ids hold)
    select
        leaf_id,
        row_number() over (order by list(unit_id order by depth), leaf_id) as leaf_ord
    from int_unit_lineage
    where hierarchy = $primary_hierarchy
    group by leaf_id
),

request_leaf as (
    select p.request_id, o.leaf_ord
    from int_request_place as p
    inner join leaf_order as o on o.leaf_id = p.leaf_id
    where p.hierarchy = $primary_hierarchy
),

stored_order as (
    -- numbered on narrow rows: numbering the wide final rows sorted descriptions twice
    select
        r.request_id,
        row_number() over (
            order by leaf.leaf_ord nulls last, r.created_local, r.request_id
        ) - 1 as row_no
    from requests as r
    left join request_leaf as leaf using (request_id)
),

source_has as (
    -- without acceptance events (LA's extracts) no request can be "late to respond"
    select count(accepted_at) > 0 as acceptances from requests
),

state as (
    select
        r.*,
        h.acceptances,
        r.closed_at is null as is_open,
        case
            when r.closed_at is null then greatest(n.working_now - r.working_start, 0) / 3600.0
        end as open_working_hours
    from requests as r
    left join now as n on true
    cross join source_has as h
),

lamps as (
    select
        *,
        case
            when not is_open then null
            when due_at < $as_of_local then 'red'
            when open_working_hours >= $yellow_at * time_limit_hours then 'yellow'
            else 'green'
        end as lamp,
        coalesce(is_open and open_working_hours >= $long_open_hours, false)
            as long_open,
        reopen_count >= $long_reopens as reopened_often
    from state
),

final as (
    select
        stored.row_no,
        request_id,
        created_local,
        created_day,
        channel,
        event_type,
        l1_zh,
        l1_en,
        l4_zh,
        l4_en,
        department,
        dispatch_level,
        time_limit_hours,
        response_limit_hours,
        due_at,
        response_due_at,
        accepted_at,
        first_closed_at,
        closed_at,
        reopen_count,
        rating,
        handling_hours,
        is_repeat,
        is_repeat_caller,
        address,
        -- scrubbed at ingest; the contact only masked and as a keyed hash (issue 7)
        text.description,
        text.contact_name_masked,
        text.contact_phone_masked,
        text.contact_phone_key,
        component_id,
        lng,
        lat,
        cell,
        geo_status,
        is_open,
        open_working_hours,
        lamp,
        acceptances and is_open and accepted_at is null and response_due_at < $as_of_local
            as response_overdue,
        long_open or reopened_often as long_unresolved,
        long_open,
        reopened_often,
        -- 0 none; 1 overdue: the handling department's supervisor; 2 overdue by a whole
        -- further limit, or long-unresolved: one level above the dispatch level;
        -- 3 open for twice the long-unresolved threshold: the city's command centre
        case
            when is_open and open_working_hours >= 2 * $long_open_hours then 3
            when (lamp = 'red' and open_working_hours >= 2 * time_limit_hours)
                or (is_open and (long_open or reopened_often)) then 2
            when lamp = 'red' then 1
            else 0
        end as escalation,
        link.linked_component_id,
        link.link_method,
        link.link_distance_m
    from lamps
    inner join texts as text using (request_id)
    left join int_request_component as link using (request_id)
    inner join stored_order as stored using (request_id)
)

select * from final order by row_no
