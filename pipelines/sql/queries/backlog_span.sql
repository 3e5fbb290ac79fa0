-- What the backlog playback spans: the data's as-of time (meta) and the first request's
-- creation time, and the heatmap resolution of the unit's level (one row; no row when the
-- unit is unknown). Inputs: meta, fact_request, dim_unit, dim_level.
-- Params: $unit_id (NULL: the city).
with unit as (
    select u.unit_id, u.level, l.res
    from dim_unit as u
    inner join dim_level as l on l.level = u.level
    where u.unit_id = coalesce(
        $unit_id::VARCHAR, (select value from meta where key = 'city_id')
    )
)

select
    unit.unit_id,
    unit.level,
    unit.res,
    (select value from meta where key = 'as_of_local')::TIMESTAMP as as_of,
    (select min(created_local) from fact_request) as first_created
from unit
