-- City components with their location and leaf unit in the primary hierarchy.
-- Inputs: stg_components, int_component_geo, int_component_place.
-- Params: $primary_hierarchy.
select
    c.component_id,
    c.kind,
    c.owner,
    c.property_unit,
    c.maintainer,
    c.status,
    c.installed_on,
    g.lng,
    g.lat,
    g.cell,
    g.geo_status,
    p.leaf_id
from stg_components as c
left join int_component_geo as g on g.component_id = c.component_id
left join int_component_place as p
    on p.component_id = c.component_id and p.hierarchy = $primary_hierarchy
