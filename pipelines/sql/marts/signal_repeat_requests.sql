-- Requests that could belong to a repeat-address cluster: a place (an address, else a
-- point) and an event type shared with at least $min_requests - 1 other requests over the
-- whole data (a cluster of a period needs that many; on the 1 M demo 3 % of requests).
-- Inputs: signal_requests, int_requests. Params: $min_requests.
with candidates as (
    select request_id, created_local, event_type, place_key
    from signal_requests
    where place_key is not null and event_type is not null
    qualify count(*) over (partition by event_type, place_key) >= $min_requests::BIGINT
)

select c.request_id, c.created_local, c.event_type, c.place_key, r.address, r.lng, r.lat
from candidates as c
inner join int_requests as r on r.request_id = c.request_id
order by c.created_local, c.request_id
