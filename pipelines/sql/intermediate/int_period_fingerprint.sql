-- One fingerprint per period of everything its marts are computed from: each request's row
-- in the period (place, category, lifecycle, its state at the period's end), its placement
-- in every hierarchy, and the period's bounds. Two builds with equal fingerprints for a
-- period (and equal units, residents, code and settings: the static fingerprint) compute
-- equal mart rows for it, so the later build can copy them instead. XOR of row hashes does
-- not depend on row order. Inputs: int_request_periods, int_request_place, dim_period.
with places as (
    select
        request_id,
        hash(list(struct_pack(hierarchy, leaf_id, geo_status) order by hierarchy))
            as place_hash
    from int_request_place
    group by request_id
),

per_period as (
    select p.period_id, bit_xor(hash(p, pl.place_hash)) as rows_hash, count(*) as requests
    from int_request_periods as p
    left join places as pl on pl.request_id = p.request_id
    group by p.period_id
)

select
    d.period_id,
    hash(d.start_local, d.end_local, d.as_of, coalesce(f.rows_hash, 0), coalesce(f.requests, 0))
        as fingerprint,
    coalesce(f.requests, 0) as requests
from dim_period as d
left join per_period as f on f.period_id = d.period_id
