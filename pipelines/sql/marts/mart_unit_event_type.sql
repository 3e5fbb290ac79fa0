-- The ten most frequent event types per period and unit (every level).
-- Inputs: int_request_periods, int_request_units.
with grouped as (
    select
        p.period_id,
        u.level,
        u.unit_id,
        p.event_type,
        any_value(p.l4_zh) as name_zh,
        any_value(p.l4_en) as name_en,
        count(*) as requests
    from int_request_periods as p
    inner join int_request_units as u on u.request_id = p.request_id
    where u.unit_id <> '__unassigned__'
    group by p.period_id, u.level, u.unit_id, p.event_type
),

ranked as (
    select
        *,
        row_number() over (
            partition by level, unit_id, period_id order by requests desc, event_type
        ) as rank
    from grouped
)

select * from ranked where rank <= 10
