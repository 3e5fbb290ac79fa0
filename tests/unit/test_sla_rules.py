"""The ``[sla]`` section of a source spec: defaults, overrides, and loud errors."""

from __future__ import annotations

import pytest

from pipelines.sources.spec import SlaRules, SpecError


def test_a_source_without_sla_rules_gets_the_documented_defaults():
    rules = SlaRules.from_doc({})
    assert rules == SlaRules()
    assert (rules.default_response_hours, rules.yellow_at) == (24.0, 0.8)
    assert (rules.long_open_working_days, rules.long_reopens) == (15.0, 2)
    assert (rules.repeat_window_days, rules.rank_min_requests) == (30, 30)


def test_sla_values_are_read_with_their_types():
    rules = SlaRules.from_doc({"yellow_at": "0.75", "long_reopens": 3, "rank_min_requests": 50})
    assert rules.yellow_at == 0.75 and rules.long_reopens == 3 and rules.rank_min_requests == 50
    assert isinstance(rules.long_reopens, int)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"yelow_at": 0.5}, "unknown keys"),
        ({"yellow_at": 1.2}, "out of range"),
        ({"yellow_at": 0}, "out of range"),
        ({"long_open_working_days": -1}, "out of range"),
        ({"rank_min_requests": "many"}, "not a number"),
    ],
)
def test_a_wrong_sla_rule_is_a_clear_error_not_a_silent_default(doc, message):
    with pytest.raises(SpecError, match=message):
        SlaRules.from_doc(doc)
