"""The string catalogue: one set of keys in both languages, no blanks, placeholders agree."""

from __future__ import annotations

import re

import pytest

from dashboard.i18n import LANGS, catalogue, resolve_lang, t


def test_zh_and_en_catalogues_have_identical_keys():
    assert set(catalogue("zh")) == set(catalogue("en"))


@pytest.mark.parametrize("lang", LANGS)
def test_no_catalogue_value_is_empty(lang):
    assert [k for k, v in catalogue(lang).items() if not v.strip()] == []


def test_placeholders_match_between_languages():
    def names(text: str) -> set[str]:
        return set(re.findall(r"{(\w+)}", text))

    zh, en = catalogue("zh"), catalogue("en")
    assert {k for k in zh if names(zh[k]) != names(en[k])} == set()


def test_chinese_is_the_default_and_unknown_languages_fall_back_to_it():
    assert resolve_lang(None) == "zh"
    assert resolve_lang("fr") == "zh"
    assert resolve_lang("en") == "en"


def test_translation_fills_placeholders():
    assert t("kpi.open_sub", "en", value="12") == "12 of them overdue"
    assert t("kpi.open_sub", "zh", value="12") == "其中超期 12"


def test_unknown_key_fails_loudly_instead_of_showing_the_key():
    with pytest.raises(KeyError):
        t("no.such.key", "zh")
