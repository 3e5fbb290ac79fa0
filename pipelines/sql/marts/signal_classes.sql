-- Names of every level-3 class the requests use (signal_requests.category), in Chinese and
-- English, with its level-1 class; an event type missing from the category table names
-- its own class (int_requests' rule for unknown types). A category list may have no level
-- 3 (a one-level list such as LA's): those columns are read by name off each row, NULL
-- when absent, and the class is named by the type's own name.
-- Inputs: signal_requests, stg_categories.
with types as (
    select distinct event_type, category
    from signal_requests
    where category is not null
),

categories as (
    select
        c.code,
        to_json(c) ->> 'l3_zh' as l3_zh,
        to_json(c) ->> 'l3_en' as l3_en,
        c.l4_zh,
        c.l4_en,
        c.l1_zh,
        c.l1_en
    from stg_categories as c
)

select
    t.category,
    min(coalesce(c.l3_zh, c.l4_zh, c.l1_zh, t.event_type)) as category_zh,
    min(coalesce(c.l3_en, c.l4_en, c.l1_en, t.event_type)) as category_en,
    min(coalesce(c.l1_zh, '未分类')) as l1_zh,
    min(coalesce(c.l1_en, 'Unclassified')) as l1_en
from types as t
left join categories as c on c.code = t.event_type
group by t.category
