"""The pages' message catalogues: the same keys in zh-CN and en, and every key a page uses."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

STATIC = Path(str(resources.files("salespulse.api").joinpath("static")))
LANGS = ("zh-CN", "en")
# t("a.b") and t(`a.${x}`) in the modules; the template's fixed prefix must have keys.
LITERAL = re.compile(r"""\bt\(\s*"([a-z][\w.-]*)\"""")
TEMPLATE = re.compile(r"""\bt\(\s*`([a-z][\w.-]*\.)\$\{""")
KEYED = re.compile(r"""["']((?:col|team|me|nav|contest|targets|version|tv)\.[a-z_]+)["']""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def sources() -> str:
    files = [*STATIC.glob("*.js"), *STATIC.glob("*/*.js"), *STATIC.glob("*.html")]
    return "\n".join(f.read_text("utf-8") for f in files)


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert sorted(zh) == sorted(en)
    for key in en:
        assert set(PLACEHOLDER.findall(zh[key])) == set(PLACEHOLDER.findall(en[key])), key
        assert zh[key].strip() and en[key].strip(), key


def test_every_key_the_pages_use_is_in_both_catalogues() -> None:
    text = sources()
    used = set(LITERAL.findall(text)) | set(KEYED.findall(text))
    used |= set(re.findall(r'data-i18n(?:-label)?="([^"]+)"', text))
    assert len(used) > 100  # the scan finds the pages' keys at all
    for lang in LANGS:
        missing = sorted(used - set(catalogue(lang)))
        assert missing == [], f"{lang} lacks {missing}"


def test_every_templated_family_has_its_members() -> None:
    # t(`pace.${status}`) and the like: each family must cover the values the API sends.
    families = {
        "pace.": {"ahead", "on_track", "at_risk", "behind"},
        "role.": {"admin", "manager", "rep", "producer"},
        "version.": {"active", "building", "ready", "retired"},
        "per.": {"year", "quarter", "month", "week", "day"},
        "diag.": {"few_new_opportunities", "low_conversion", "low_win_rate", "small_deals"}
        | {"long_cycle", "stalls"},
        "lang.": set(LANGS),
        "activity.": {"visit", "call", "lead", "qualification", "opportunity", "stage"}
        | {"win", "loss", "order", "payment"},
    }
    assert set(TEMPLATE.findall(sources())) <= {*families, "title.", "into.", "by."}
    for lang in LANGS:
        keys = set(catalogue(lang))
        for prefix, members in families.items():
            assert {f"{prefix}{m}" for m in members} <= keys, (lang, prefix)


def test_zh_cn_texts_are_chinese() -> None:
    # Latin words allowed in Chinese texts: product names, codes, a command line and URLs.
    allowed = {"SalesPulse", "PK", "KPI", "English", "salespulse", "kpi", "versions", "activate"}
    allowed |= {"token", "login"}  # "/?token=…", "/login"
    for key, text in catalogue("zh-CN").items():
        words = set(re.findall(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", text))) - allowed
        assert not words, (key, words)
