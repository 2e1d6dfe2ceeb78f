"""A digest written out as a Note, in the channel's language (en or zh-CN)."""

from __future__ import annotations

from collections.abc import Mapping

from projections.broadcasts.digest import Digest
from streams.notify.formats.note import Note
from streams.notify.texts import money, percent

DIGEST_WORDS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "daily": "Daily digest {period} · {scope}",
        "weekly": "Weekly digest {period} · {scope}",
        "top": "Top reps ({metric})",
        "teams": "Team vs team (per head)",
        "team_line": "{name}: {total}, {headcount} reps, {per_capita} per head, lead {leader}",
        "behind": "Behind pace this month",
        "behind_line": "{name}: {metric} {completion} (pace says {expected})",
        "nobody_behind": "Nobody is behind pace.",
        "rules": "Behaviour rules",
        "rule_line": "{rule}: {met}/{subjects} met",
        "rule_short": "{name} needs {remaining} more",
        "none": "no sales yet",
    },
    "zh-CN": {
        "daily": "日报 {period} · {scope}",
        "weekly": "周报 {period} · {scope}",
        "top": "销售排行（{metric}）",
        "teams": "团队 PK（人均）",
        "team_line": "{name}：{total}，{headcount} 人，人均 {per_capita}，领先 {leader}",
        "behind": "本月进度落后",
        "behind_line": "{name}：{metric} 完成 {completion}（应达 {expected}）",
        "nobody_behind": "无人落后。",
        "rules": "行为规则",
        "rule_line": "{rule}：{met}/{subjects} 达标",
        "rule_short": "{name} 还差 {remaining}",
        "none": "暂无业绩",
    },
}


def digest_note(digest: Digest, language: str, currency: str) -> Note:
    w = DIGEST_WORDS.get(language, DIGEST_WORDS["en"])
    lines: list[str] = [f"【{w['top'].format(metric=digest.metric)}】"]
    lines += [f"{t.rank}. {t.name} {money(t.value, currency)}" for t in digest.top] or [w["none"]]
    if digest.teams:
        lines.append(f"【{w['teams']}】")
        for team in digest.teams:
            lines.append(
                w["team_line"].format(
                    name=team.name,
                    total=money(team.total, currency),
                    headcount=team.headcount,
                    per_capita=money(team.per_capita or 0, currency),
                    leader=team.leader or "-",
                )
            )
    lines.append(f"【{w['behind']}】")
    for b in digest.behind:
        lines.append(
            w["behind_line"].format(
                name=b.name,
                metric=b.metric,
                completion=percent(b.completion) or "0%",
                expected=percent(b.expected_share),
            )
        )
    if not digest.behind:
        lines.append(w["nobody_behind"])
    if digest.rules:
        lines.append(f"【{w['rules']}】")
        for rule in digest.rules:
            text = w["rule_line"].format(rule=rule.rule, met=rule.met, subjects=rule.subjects)
            short = [w["rule_short"].format(name=n, remaining=f"{r:g}") for n, r in rule.furthest]
            lines.append(text + ("; " + ", ".join(short) if short else ""))
    title = w[digest.cadence].format(period=digest.period, scope=digest.scope_name)
    facts: dict[str, object] = {
        "key": digest.key,
        "kind": f"digest_{digest.cadence}",
        "period": digest.period,
    }
    return Note(title, tuple(lines), (digest.key,), (facts,), tone="info")
