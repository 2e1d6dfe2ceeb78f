"""The notifier's pure parts: channel filters (subtree, kinds, minimum), texts, size limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from projections.model.readmodel import Unit
from streams.notify.channels import ChannelsError, load_channels, parse_channel
from streams.notify.formats import dingtalk, feishu, slack, wecom
from streams.notify.formats.registry import PLATFORMS
from streams.notify.texts import Item, single_note, summary_note

UNITS = {
    "co": Unit("co", "Co", "company", None),
    "east": Unit("east", "East", "department", "co"),
    "sh": Unit("sh", "Shanghai", "team", "east"),
    "west": Unit("west", "West", "department", "co"),
}


def deal(key: str, unit: str = "sh", amount: str = "12500", **more: object) -> Item:
    payload = {"rep_id": "r1", "rep_name": "张伟", "unit_id": unit, "unit_name": unit,
               "amount": amount, "account_id": "明远贸易", "rank_before": None, "rank_after": 1,
               "month_completion": "1.05", **more}  # fmt: skip
    return Item(key, "deal_won", payload)


def channel(**raw: object):  # type: ignore[no-untyped-def]
    return parse_channel({"name": "c", "kind": "wecom", "url": "http://x", **raw}, 0, {})


def test_a_unit_scope_takes_its_whole_subtree_and_nothing_beside_it() -> None:
    east = channel(scope="unit:east")
    assert east.accepts(deal("a", unit="sh"), UNITS)  # a team below the department
    assert not east.accepts(deal("b", unit="west"), UNITS)
    milestone = Item("m", "milestone", {"scope": "unit:sh", "percent": 100})
    assert east.accepts(milestone, UNITS)
    assert channel(scope="rep:r1").accepts(deal("c"), UNITS)


def test_kinds_and_the_minimum_amount_filter_deals_but_not_milestones() -> None:
    big = channel(min_amount="50000", kinds=["deal_won", "milestone"])
    assert not big.accepts(deal("a", amount="12500"), UNITS)
    assert big.accepts(deal("b", amount="50000"), UNITS)
    assert big.accepts(Item("m", "milestone", {"scope": "company"}), UNITS)
    assert not channel(kinds=["milestone"]).accepts(deal("c"), UNITS)


def test_a_bad_channel_is_refused_naming_it_and_the_field(tmp_path: Path) -> None:
    with pytest.raises(ChannelsError, match="channel 'c': kind: 'icq' is not one of"):
        channel(kind="icq")
    with pytest.raises(ChannelsError, match="language"):
        channel(language="fr")
    with pytest.raises(ChannelsError, match="weekly_digest"):
        channel(weekly_digest="someday")
    path = tmp_path / "c.toml"
    path.write_text('[[channel]]\nname = "d"\nkind = "dingtalk"\nurl_env = "U"\nsecret_env = "S"\n')
    [ding] = load_channels(path, env={"U": "http://robot", "S": "SEC1"})
    assert (ding.url, ding.secret, ding.per_minute) == ("http://robot", "SEC1", 20)


def test_a_single_win_in_chinese_names_rep_team_amount_customer_rank_and_month() -> None:
    note = single_note(deal("a"), "zh-CN", "CNY")
    assert note.title == "喜报：张伟 签单 12,500.00 CNY"
    assert note.lines == (
        "销售: 张伟", "团队: sh", "金额: 12,500.00 CNY", "客户: 明远贸易",
        "排名: 新上榜 第 1 名", "本月完成率: 105%",
    )  # fmt: skip


def test_a_burst_is_split_into_messages_within_wecoms_4096_bytes_naming_every_deal() -> None:
    items = [deal(f"k{i}", account_id=f"客户-{i:03d}") for i in range(100)]
    note = summary_note(items, "zh-CN", "CNY")
    assert note.title == "100 单成交，合计 1,250,000.00 CNY" and len(note.lines) == 100
    assert not wecom.fits(note)  # 100 Chinese lines are over WeCom's limit...
    assert wecom.fits(summary_note(items[:40], "zh-CN", "CNY"))  # ...40 are not


def test_each_platforms_body_has_its_documented_shape() -> None:
    note = summary_note([deal("a"), deal("b")], "en", "USD")
    body = json.loads(PLATFORMS["slack"].render(note, "u", None, 0).body)
    assert body["blocks"][0]["type"] == "header" and "text" in body
    assert (
        slack.payload(single_note(deal("<x>"), "en", "USD"))["blocks"][1]["text"]["type"]
        == "mrkdwn"
    )
    teams = json.loads(PLATFORMS["teams"].render(note, "u", None, 0).body)
    assert teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    signed = dingtalk.render(note, "https://oapi.dingtalk.com/robot/send?access_token=t", "S", 1.5)
    assert signed.url.startswith(
        "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1500&sign="
    )
    fs = feishu.payload(note, "S", 1700000000.9)
    assert (fs["msg_type"], fs["timestamp"]) == ("interactive", "1700000000") and fs["sign"]
    assert "sign" not in feishu.payload(note, None, 0)


def test_a_rate_limit_code_in_a_200_is_retried_and_a_bad_signature_is_final() -> None:
    verdict = PLATFORMS["wecom"].verdict
    assert verdict(b'{"errcode":0,"errmsg":"ok"}') is None
    assert verdict(b'{"errcode":45009,"errmsg":"api freq out of limit"}').startswith("retry: ")  # type: ignore[union-attr]
    assert PLATFORMS["dingtalk"].verdict(b'{"errcode":310000,"errmsg":"sign not match"}') == (
        "errcode 310000: sign not match"
    )


def _retraction(kind: str, amount: str | None) -> Item:
    payload = {"deal_id": "w1", "rep_id": "r1", "rep_name": "张伟", "unit_id": "sh",
               "unit_name": "Shanghai", "account_id": "明远贸易", "was": "12500",
               "amount": amount, "reason": "contract cancelled"}  # fmt: skip
    return Item(f"correction:{kind}", kind, payload)


def test_a_withdrawn_or_corrected_deal_reaches_the_channels_that_took_it_in_both_tongues() -> None:
    # Given a team channel with a minimum that the announced deal met
    team = channel(scope="unit:east", min_amount="10000")
    withdrawn, corrected = _retraction("deal_retracted", None), _retraction("deal_corrected", "900")
    # Then both corrections reach it (by default), judged by the amount that was announced
    assert team.accepts(withdrawn, UNITS) and team.accepts(corrected, UNITS)
    assert not channel(scope="unit:west").accepts(withdrawn, UNITS)
    # And they read as what they are, in English and in Chinese
    en, zh = single_note(withdrawn, "en", "USD"), single_note(corrected, "zh-CN", "CNY")
    assert en.title == "Deal withdrawn: 张伟 12,500.00 USD" and en.tone == "warning"
    assert "Reason: contract cancelled" in en.lines
    assert zh.title == "更正：张伟 的订单 12,500.00 CNY → 900.00 CNY"
    revoked = Item("revoked:m", "milestone_revoked",
                   {"scope": "unit:sh", "metric": "revenue", "period": "2026-11"})  # fmt: skip
    assert single_note(revoked, "en", "USD").title.startswith("Target no longer reached: unit:sh")
