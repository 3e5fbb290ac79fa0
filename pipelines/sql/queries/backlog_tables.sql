-- Whether the build holds the reopened requests' closed spells (builds before it do not).
-- Inputs: information_schema.
select count(*) > 0 as has_gaps
from information_schema.tables
where table_name = 'backlog_reopen_gap'
