-- The build's [component_rules] as JSON text (links, windows, names). Inputs: meta.
select value from meta where key = 'component_rules'
