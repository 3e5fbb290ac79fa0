-- First worry index (烦恼指数), 0-100, for any table shaped like worry_input (docs/metrics.md).
-- Half volume per capita, a quarter backlog, a quarter dissatisfaction; each component is
-- the ratio to the pooled average of its peers (same level, period and resolution: all
-- their requests over all their residents, and so on), halved and capped at 1, so 50 means
-- "as bothered as the average peer" and 100 "twice as bothered or more on every count". Fewer than $min_requests requests gives NULL ("insufficient data"),
-- as does the '__unassigned__' bucket. The city as a unit (res NULL) has no peers of its
-- own and is scored against the average of the primary hierarchy's top level.
-- Inputs: worry_input(level, unit_id, period_id, res, requests, open, rated, dissatisfied,
-- population, period_days, ...). Params: $min_requests, $population_floor,
-- $city_peer_level.
with base as (
    select
        *,
        requests * 10000.0 * 30
        / (greatest(population, $population_floor) * greatest(period_days, 1))
            as requests_per_10k_30d,
        open / nullif(requests, 0)::double as backlog_share,
        dissatisfied / nullif(rated, 0)::double as dissatisfied_share,
        case when level = 'city' and res is null then $city_peer_level else level end
            as peer_level,
        requests >= $min_requests and unit_id <> '__unassigned__'
        and not (level = 'city' and res is null) as is_peer
    from worry_input
),

peers as (
    select
        *,
        sum(requests) filter (where is_peer) over w * 10000.0 * 30
        / nullif(sum(greatest(population, $population_floor)
            * greatest(period_days, 1)) filter (where is_peer) over w, 0) as typical_rate,
        sum(open) filter (where is_peer) over w
        / nullif(sum(requests) filter (where is_peer) over w, 0)::double as typical_backlog,
        sum(dissatisfied) filter (where is_peer) over w
        / nullif(sum(rated) filter (where is_peer) over w, 0)::double as typical_dissatisfied
    from base
    window w as (partition by peer_level, period_id, res)
),

final as (
    select
        * exclude (typical_rate, typical_backlog, typical_dissatisfied, peer_level, is_peer),
        case when requests >= $min_requests and unit_id <> '__unassigned__' then round(100 * (
            0.5 * least(1, coalesce(requests_per_10k_30d / nullif(2 * typical_rate, 0), 0))
            + 0.25 * least(1, coalesce(backlog_share / nullif(2 * typical_backlog, 0), 0))
            + 0.25 * least(1, coalesce(
                dissatisfied_share / nullif(2 * typical_dissatisfied, 0), 0))
        ), 1) end as worry_index
    from peers
)

select * from final
