-- The signal marts a build holds (a build made before they existed holds none).
-- Inputs: duckdb_tables().
select table_name
from duckdb_tables()
where table_name in (
    'mart_hotspot_period',
    'mart_hotspot_cell',
    'mart_hotspot_cluster',
    'mart_repeat_place',
    'mart_alert'
)
order by table_name
