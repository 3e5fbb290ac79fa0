-- First worry index (烦恼指数), 0-100, for any table shaped like worry_input. See
-- docs/metrics.md: half volume per capita, a quarter backlog, a quarter dissatisfaction,
-- each relative to the 95th percentile of its peers (same level, period and resolution)
-- and capped at 1. Fewer than $min_requests requests gives NULL ("insufficient data"), as
-- does the '__unassigned__' bucket. The city as a unit (res NULL) has no peers of its own
-- and is scored against its districts' percentiles.
-- Inputs: worry_input(level, period_id, res, requests, open, rated, dissatisfied,
-- population, period_days, ...). Params: $min_requests, $population_floor.
with base as (
    select
        *,
        requests * 10000.0 * 30
        / (greatest(population, $population_floor) * greatest(period_days, 1))
            as requests_per_10k_30d,
        open / nullif(requests, 0)::double as backlog_share,
        dissatisfied / nullif(rated, 0)::double as dissatisfied_share,
        case when level = 'city' and res is null then 'district' else level end
            as peer_level,
        requests >= $min_requests and unit_id <> '__unassigned__'
        and not (level = 'city' and res is null) as is_peer
    from worry_input
),

peers as (
    select
        *,
        quantile_cont(requests_per_10k_30d, 0.95) filter (where is_peer)
            over (partition by peer_level, period_id, res) as p95_rate,
        quantile_cont(backlog_share, 0.95) filter (where is_peer)
            over (partition by peer_level, period_id, res) as p95_backlog,
        quantile_cont(dissatisfied_share, 0.95) filter (where is_peer)
            over (partition by peer_level, period_id, res) as p95_dissatisfied
    from base
),

final as (
    select
        * exclude (p95_rate, p95_backlog, p95_dissatisfied, peer_level, is_peer),
        case when requests >= $min_requests and unit_id <> '__unassigned__' then round(100 * (
            0.5 * least(1, coalesce(requests_per_10k_30d / nullif(p95_rate, 0), 0))
            + 0.25 * least(1, coalesce(backlog_share / nullif(p95_backlog, 0), 0))
            + 0.25 * least(1, coalesce(dissatisfied_share / nullif(p95_dissatisfied, 0), 0))
        ), 1) end as worry_index
    from peers
)

select * from final
