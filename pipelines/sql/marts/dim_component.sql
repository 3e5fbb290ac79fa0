-- City components with their location and admin units. Inputs: stg_components,
-- int_component_geo, int_unit_lineage.
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
    l.grid_id,
    l.community_id,
    l.street_id,
    l.district_id
from stg_components as c
left join int_component_geo as g on g.component_id = c.component_id
left join int_unit_lineage as l on l.grid_id = g.grid_id
