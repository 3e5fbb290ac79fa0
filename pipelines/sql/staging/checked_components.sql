-- Type and check the component register. Inputs: raw_components.
with source as (
    select * from raw_components
),

typed as (
    select
        source_file,
        source_row,
        nullif(trim(component_id), '') as component_id,
        nullif(trim(kind), '') as kind,
        try_cast(lng as double) as lng_src,
        try_cast(lat as double) as lat_src,
        nullif(trim(owner), '') as owner,
        nullif(trim(property_unit), '') as property_unit,
        nullif(trim(maintainer), '') as maintainer,
        coalesce(nullif(trim(status), ''), '未知') as status,
        try_cast(installed_on as date) as installed_on,
        source as source_record
    from source
),

ranked as (
    select
        *,
        -- the first usable copy wins: a copy without a kind must not shadow a good one
        row_number() over (
            partition by component_id order by kind is null, source_file, source_row
        ) as copy_number
    from typed
)

select
    * exclude (copy_number),
    case
        when component_id is null then 'MISSING_ID'
        when kind is null then 'MISSING_KIND'
        when copy_number > 1 then 'DUPLICATE_ID'
    end as reject_reason
from ranked
