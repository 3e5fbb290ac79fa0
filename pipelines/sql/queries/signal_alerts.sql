-- Early-warning alerts (mart_alert), newest first: those active on or after $since and
-- raised on or before $until, optionally only those of one unit (any level, any
-- hierarchy: a city-wide alert belongs to every unit it folded and their ancestors; the
-- city's own id filters nothing), of one series kind, at least $min_severity, with or
-- without the city-wide ones.
-- Inputs: mart_alert, dim_unit. Params: $since, $until, $unit_id, $series, $min_severity,
-- $city_wide, $limit.
select *
from mart_alert
where ($since::DATE is null or last_day >= $since::DATE)
    and ($until::DATE is null or first_day <= $until::DATE)
    and ($unit_id::VARCHAR is null
        or $unit_id::VARCHAR in (select unit_id from dim_unit where level = 'city')
        or list_contains(unit_ids, $unit_id::VARCHAR))
    and ($series::VARCHAR is null or series = $series::VARCHAR)
    and severity >= $min_severity::INTEGER
    and ($city_wide::BOOLEAN is null or city_wide = $city_wide::BOOLEAN)
order by first_day desc, city_wide desc, severity desc, alert_id
limit $limit::BIGINT
