-- One fingerprint per period of everything its marts are computed from: each request's row
-- in the period (place, category, lifecycle, its state at the period's end), its placement
-- in every hierarchy, and the period's bounds. Two builds with equal fingerprints for a
-- period (and equal units, residents, code and settings: the static fingerprint) compute
-- equal mart rows for it, so the later build can copy them instead. XOR of row hashes does
-- not depend on row order. The requests of the window before the period (where they lie)
-- count too: the worry index's trend reads them, so a late request in February recomputes
-- March. A period's rows depend on the as-of time only through its end capped at it (the
-- state at the period's end, its length in days), so a month that ended before the data's
-- end keeps its fingerprint when the next day arrives. Inputs: int_requests, int_request_periods, int_request_place, dim_period.
with places as (
    select request_id, bit_xor(hash(hierarchy, leaf_id, geo_status)) as place_hash
    from int_request_place
    group by request_id
),

-- a request's own row (place, category, lifecycle) hashed once, not once per period
requests as (
    select
        r.request_id,
        r.created_local,
        hash(r, pl.place_hash) as request_hash,
        hash(r.request_id, pl.place_hash) as where_hash
    from int_requests as r
    left join places as pl on pl.request_id = r.request_id
),

previous as (
    select p.period_id, bit_xor(q.where_hash) as previous_hash
    from dim_period as p
    inner join requests as q
        on q.created_local < p.start_local
        and q.created_local
        >= p.start_local - to_microseconds(cast(p.period_days * 86400e6 as bigint))
    group by p.period_id
),

per_period as (
    select
        p.period_id,
        bit_xor(hash(q.request_hash, p.is_closed, p.closed_1d, p.closed_3d, p.is_overdue))
            as rows_hash,
        count(*) as requests
    from int_request_periods as p
    inner join requests as q on q.request_id = p.request_id
    group by p.period_id
)

select
    d.period_id,
    hash(
        d.start_local,
        least(d.end_local, d.as_of),
        coalesce(f.rows_hash, 0),
        coalesce(f.requests, 0),
        coalesce(v.previous_hash, 0)
    ) as fingerprint,
    coalesce(f.requests, 0) as requests
from dim_period as d
left join per_period as f on f.period_id = d.period_id
left join previous as v on v.period_id = d.period_id
