-- A frame computed in Python (pipelines/signal_marts.py), stored as a session table under
-- the name the next models read it by.
-- Inputs: signal_frame (a registered pandas frame).
select * from signal_frame
