-- The fact_request rows a unit's requests lie between (dim_unit_rows), for queries that
-- filter on them first ($row_lo, $row_hi). Every row for the city, for no unit (NULL) and
-- for an id the build does not know (the unit test in the query then finds nothing); no
-- row (0, -1) for a known unit without requests.
-- Inputs: dim_unit_rows, dim_unit. Params: $unit_id.
with known as (
    select level from dim_unit where unit_id = $unit_id::VARCHAR
),

span as (
    select row_lo, row_hi from dim_unit_rows where unit_id = $unit_id::VARCHAR
)

select
    coalesce((select row_lo from span), 0)::BIGINT as row_lo,
    coalesce(
        (select row_hi from span),
        case when exists (select 1 from known where level <> 'city') then -1 end,
        9223372036854775807
    )::BIGINT as row_hi
