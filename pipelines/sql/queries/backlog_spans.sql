-- The backlog of one unit's heatmap, as one row per request that is open at some moment
-- t_k = $first + k * $step seconds (k = 0 .. $moments - 1): its cell at the level's
-- resolution $res and the moment indexes where it opens, closes and turns overdue.
-- A request is open on [created_local, closed_at): until its last close, or through the
-- as-of time when it is open now (closed_at NULL: the lifecycle's current state). A closed
-- spell between a close and a reopen is not open: those spells come from backlog_spells
-- where the build has them (backlog_reopen_gap). It is overdue while open and past due_at.
-- Indexes are the first moment at or after each boundary; $moments means "after the last
-- moment" (still open). pipelines/backlog_queries.py counts the rows into a cells x moments
-- matrix with numpy (a bincount and a running sum: several times faster than summing the
-- +1/-1 events and running them up in SQL). Requests without a mapped location have
-- cell 0: the "unlocated".
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id (NULL or the city's id: every request), $res, $first, $step, $moments;
-- $row_lo, $row_hi (the unit's fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
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
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and ($unit_id::VARCHAR is null
            or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
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
)

select cell, opens, closes, due_k from live
