-- Every request's time and, when located, its hotspot cell (0 when not located): what the
-- Gi* windows count and mart_hotspot_period accounts for. Sorted by signal_marts.
-- Inputs: signal_requests.
select created_local, coalesce(hotspot_cell, 0) as cell
from signal_requests
