-- One unit's outline (GeoJSON text as drawn on the cockpit maps; NULL where the build has
-- none, e.g. the city) with its box and centre. Inputs: dim_unit, unit_shape.
-- Params: $unit_id.
select
    u.unit_id,
    u.level,
    u.center_lng,
    u.center_lat,
    u.minx,
    u.miny,
    u.maxx,
    u.maxy,
    s.geojson
from dim_unit as u
left join unit_shape as s on s.unit_id = u.unit_id
where u.unit_id = $unit_id::VARCHAR
