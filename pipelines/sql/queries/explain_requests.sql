-- What lies behind a place's worry index ("why is this red"): its requests in the period,
-- grouped three ways, the largest groups first: by category (top-level class and event
-- type), by address (as written; repeats counted) and by city component (部件). A unit
-- filter follows the unit's hierarchy as in requests.sql; a cell filter keeps the requests
-- whose point lies in the heatmap cell $cell of resolution $res (the H3 parent computed
-- inline, as db.MACROS' h3_parent does: read connections have no macros).
-- Inputs: fact_request, fact_request_place, dim_unit_lineage, dim_period, dim_unit,
-- mart_component (the component's kind in both languages: 路灯 / Street light ...).
-- Params: $unit_id, $period_id, $cell, $res, $limit; $row_lo, $row_hi (the unit's
-- fact_request rows, which queries.run_query looks up).
with in_unit as (
    select p.row_no
    from fact_request_place as p
    inner join dim_unit_lineage as l on l.hierarchy = p.hierarchy and l.leaf_id = p.leaf_id
    where l.unit_id = $unit_id::VARCHAR
),

period as (
    select start_local, end_local from dim_period where period_id = $period_id::VARCHAR
),

picked as (
    select r.*
    from fact_request as r
    where r.row_no between $row_lo::BIGINT and $row_hi::BIGINT
        and ($unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
            or r.row_no in (select row_no from in_unit))
        and r.created_local >= (select start_local from period)
        and r.created_local < (select end_local from period)
        and ($cell::BIGINT is null or (
            r.cell is not null
            and (r.cell & ~(15::BIGINT << 52)) | ($res::BIGINT << 52)
            | ((1::BIGINT << (3 * (15 - $res::BIGINT))) - 1) = $cell::BIGINT
        ))
),

grouped as (
    select
        'category' as kind,
        l1_zh || ' / ' || l4_zh as key_zh,
        l1_en || ' / ' || l4_en as key_en,
        count(*) as requests,
        count(*) filter (where is_open) as open,
        count(*) filter (where is_repeat) as repeats,
        count(*) filter (where rating = 'dissatisfied') as dissatisfied
    from picked
    group by l1_zh, l4_zh, l1_en, l4_en
    union all
    select
        'address',
        any_value(address),
        any_value(address),
        count(*),
        count(*) filter (where is_open),
        count(*) filter (where is_repeat),
        count(*) filter (where rating = 'dissatisfied')
    from picked
    where address is not null
    group by lower(regexp_replace(trim(address), '\s+', ' ', 'g'))
    union all
    select
        'component',
        p.component_id || coalesce(' · ' || any_value(c.kind_zh), ''),
        p.component_id || coalesce(' · ' || any_value(c.kind_en), ''),
        count(*),
        count(*) filter (where p.is_open),
        count(*) filter (where p.is_repeat),
        count(*) filter (where p.rating = 'dissatisfied')
    from picked as p
    left join mart_component as c on c.component_id = p.component_id
    where p.component_id is not null
    group by p.component_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by kind order by requests desc, open desc, key_zh
        ) as rank
    from grouped
)

select * from ranked
where rank <= $limit::INTEGER
order by kind, rank
