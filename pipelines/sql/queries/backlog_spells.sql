-- The closed spells of one unit's reopened requests (backlog_reopen_gap), to be taken out
-- of backlog_spans: one row per spell that covers a moment, with its cell and the moment
-- indexes where it shuts (the close: no longer open), comes back (the reopen) and where,
-- inside it, the request would have been overdue (from due_k until back). Same moments,
-- cells and unlocated bucket (cell 0) as backlog_spans.
-- Inputs: backlog_reopen_gap, fact_request, fact_request_place, dim_unit_lineage, dim_unit.
-- Params: $unit_id, $res, $first, $step, $moments; $row_lo, $row_hi
-- (the unit's fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

spells as (
    select
        case
            when r.geo_status in ('interior', 'exact', 'overlap', 'snapped', 'outside')
                and r.cell is not null and r.cell <> 0
                then (r.cell & ~(15::BIGINT << 52)) | ($res::BIGINT << 52)
                    | ((1::BIGINT << (3 * (15 - $res::INTEGER))) - 1)
            else 0
        end as cell,
        greatest(ceil((epoch(g.closed_at) - epoch($first::TIMESTAMP)) / $step::DOUBLE), 0)
            ::INTEGER as shut,
        least(
            greatest(ceil((epoch(g.reopened_at) - epoch($first::TIMESTAMP)) / $step::DOUBLE), 0),
            $moments::INTEGER
        )::INTEGER as back,
        floor((epoch(r.due_at) - epoch($first::TIMESTAMP)) / $step::DOUBLE)::INTEGER + 1
            as past_due
    from backlog_reopen_gap as g
    inner join fact_request as r on r.row_no = g.row_no
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and g.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and ($unit_id::VARCHAR is null
            or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
),

live as (
    select cell, shut, back, least(greatest(shut, coalesce(past_due, back)), back) as due_k
    from spells
    where shut < back
)

select cell, shut, back, due_k from live
