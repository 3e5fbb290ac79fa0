-- The backlog of one unit's heatmap: requests open at each moment t_k = $first + k * $step
-- seconds (k = 0 .. $moments - 1), per cell at the level's resolution $res.
-- A request is open on [created_local, closed_at): until its last close, or through the
-- as-of time when it is open now (closed_at NULL: the lifecycle's current state). A closed
-- spell between a close and a reopen is not open: those spells are subtracted by
-- backlog_gaps where the build has them (backlog_reopen_gap). It is overdue while open
-- and past due_at.
-- Each request becomes +1/-1 events at the first moment at or after each boundary; the
-- events are summed per cell and moment, then run up over the moments per cell. Rows are
-- the change points only (a cell keeps its counts until its next row). Requests without a
-- mapped location have cell 0: the "unlocated".
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id (NULL or the city's id: every request), $res, $first, $step, $moments.
with in_unit as (
    select p.request_id
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

scoped as (
    select
        r.created_local,
        r.due_at,
        r.closed_at as ends_at,
        case
            when r.geo_status in ('interior', 'exact', 'overlap', 'snapped', 'outside')
                and r.cell is not null and r.cell <> 0
                -- h3_parent (pipelines/db.py MACROS), inline: a read-only build has no macros
                then (r.cell & ~(15::BIGINT << 52)) | ($res::BIGINT << 52)
                    | ((1::BIGINT << (3 * (15 - $res::INTEGER))) - 1)
            else 0
        end as cell
    from fact_request as r
    where ($unit_id::VARCHAR is null
            or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.request_id in (select request_id from in_unit))
        and (r.closed_at is null or r.closed_at > $first::TIMESTAMP)
),

spans as (
    -- moment indexes: open from `opens`, closed from `closes`, overdue from `due_k`
    -- (index $moments = after the last moment)
    select
        cell,
        greatest(ceil((epoch(created_local) - epoch($first::TIMESTAMP)) / $step::DOUBLE), 0)
            ::INTEGER as opens,
        coalesce(
            least(ceil((epoch(ends_at) - epoch($first::TIMESTAMP)) / $step::DOUBLE),
                $moments::INTEGER),
            $moments::INTEGER
        )::INTEGER as closes,
        floor((epoch(due_at) - epoch($first::TIMESTAMP)) / $step::DOUBLE)::INTEGER + 1
            as past_due
    from scoped
),

live as (
    select
        cell,
        opens,
        closes,
        -- overdue from past_due until the close; an overdue span that ends where it
        -- starts adds nothing
        least(greatest(opens, coalesce(past_due, $moments::INTEGER)), closes) as due_k
    from spans
    where opens < closes and opens < $moments::INTEGER
),

events as (
    -- four events per request in one pass: open +1, close -1, overdue +1, close -1
    select
        cell,
        unnest([opens, closes, due_k, closes]) as k,
        unnest([1, -1, 0, 0]) as d_open,
        unnest([0, 0, 1, -1]) as d_overdue
    from live
),

per_moment as (
    select cell, k, sum(d_open) as d_open, sum(d_overdue) as d_overdue
    from events
    where k < $moments::INTEGER
    group by cell, k
),

final as (
    select
        cell,
        k,
        sum(d_open) over (partition by cell order by k)::INTEGER as open,
        sum(d_overdue) over (partition by cell order by k)::INTEGER as overdue
    from per_moment
)

select * from final order by cell, k
