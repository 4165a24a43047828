"""Alerts formatted as Slack and Discord webhook messages, within each platform's limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from continual_ml.alerts.delivery import EVENT_STYLE, Alert, record_alert
from continual_ml.alerts.fanout import post_to_all

# Slack Block Kit (api.slack.com/reference/block-kit/blocks): at most 50 blocks a message; a
# header's text 150 chars; a section's text 3000; at most 10 section fields of 2000 chars each.
# Our messages have at most 7 blocks, so the 50-block cap holds by construction.
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_CHARS = 150
SLACK_TEXT_CHARS = 3000
SLACK_MAX_FIELDS = 10
SLACK_FIELD_CHARS = 2000
# Not documented: Slack answers `msg_blocks_too_long` past ~13k chars of block text in all
# (slackapi/bolt-js#2509), so the fields share what the other blocks leave of 12k.
SLACK_MESSAGE_CHARS = 12_000
# Discord (discord.com/developers/docs/resources/message#embed-object-embed-limits): content
# 2000 chars; embed title 256, description 4096, at most 25 fields with name 256 and value 1024,
# footer 2048, and 6000 in total over all embeds of a message, which holds at most 10 embeds
# (we send one).
DISCORD_CONTENT_CHARS = 2000
DISCORD_TITLE_CHARS = 256
DISCORD_DESCRIPTION_CHARS = 4096
DISCORD_MAX_FIELDS = 25
DISCORD_FIELD_NAME_CHARS = 256
DISCORD_FIELD_VALUE_CHARS = 1024
DISCORD_FOOTER_CHARS = 2048
DISCORD_EMBED_TOTAL_CHARS = 6000
_LONGEST_LINK = 900  # a clipped URL is a broken one: longer links show as their label only


def _clip(text: object, limit: int) -> str:
    """At most `limit` characters, a cut marked with an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lines_within(lines: list[str], limit: int) -> str:
    """Whole lines up to `limit` characters, then a note of how many did not fit."""
    kept: list[str] = []
    used = -1  # no newline before the first line
    for index, line in enumerate(lines):
        left_after = len(lines) - index - 1
        note = len(f"\n…and {left_after} more") if left_after else 0
        if used + 1 + len(line) + note > limit:
            break
        kept.append(line)
        used += 1 + len(line)
    if len(kept) < len(lines):
        kept.append(f"…and {len(lines) - len(kept)} more")
    return "\n".join(kept)


def _web_url(target: str) -> bool:
    parts = urlsplit(target)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(target) <= _LONGEST_LINK


def _slack_escape(text: object) -> str:
    # Slack mrkdwn reserves only these three; escaping also stops data from forming <!channel>.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: object, limit: int) -> str:
    """Escaped Slack mrkdwn of at most `limit` chars, never cutting an entity like `&amp;`."""
    escaped = _slack_escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    ampersand = cut.rfind("&", max(len(cut) - 4, 0))
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]
    return cut + "…"


def _headline(alert: Alert) -> str:
    # Both platforms reject empty texts, so an untitled alert is named by its event.
    return alert.title or alert.event.replace("_", " ")


def _outcome(alert: Alert) -> list[tuple[str, str]]:
    pairs = (("Action taken", alert.action), ("Estimated impact", alert.impact))
    return [(label, value) for label, value in pairs if value]


Escape = Callable[[object, int], str]  # a platform's text of at most so many characters


def _link_lines(
    alert: Alert, as_link: Callable[[str, str], str], escape: Escape, url_chars: int
) -> list[str]:
    """A line per link: the platform's link markup for a web address; else the label and the
    target (a file path, say) as code, since the platform could not open it."""
    return [
        as_link(label, url) if _web_url(url) else f"{escape(label, 75)}: `{escape(url, url_chars)}`"
        for label, url in alert.links.items()
    ]


def _slack_link(label: str, url: str) -> str:
    target = url.replace("&", "&amp;").replace("|", "%7C").replace(">", "%3E")
    return f"<{target}|{_mrkdwn(label, 75)}>"


def _discord_link(label: str, url: str) -> str:
    text = _clip(label, 75).replace("[", "(").replace("]", ")")
    return f"[{text}]({url.replace(' ', '%20').replace(')', '%29')})"


def _ranked_lines(alert: Alert, bold: str, escape: Escape) -> list[str]:
    """The alert's items, numbered, each name in bold."""
    return [
        f"{rank}. {bold}{escape(name, 200)}{bold}: {escape(value, 200)}"
        for rank, (name, value) in enumerate(alert.items, start=1)
    ]


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _block_chars(block: dict) -> int:
    texts = [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
    return sum(len(t.get("text", "")) for t in texts)


def slack_payload(alert: Alert) -> dict:
    """A Slack incoming-webhook message: a `text` fallback for notifications plus Block Kit."""
    emoji = EVENT_STYLE[alert.event][0]
    title = _clip(_headline(alert), SLACK_HEADER_CHARS - len(emoji) - 1)
    blocks = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{emoji} {title}", "emoji": True},
        },
        _section(_mrkdwn(alert.text or _headline(alert), SLACK_TEXT_CHARS)),
    ]
    # Action, impact and links get tighter caps than Slack's so the whole message stays under
    # SLACK_MESSAGE_CHARS with room left for the fields.
    outcome = [f"*{k}:* {_mrkdwn(v, 700)}" for k, v in _outcome(alert)]
    if outcome:
        blocks.append(_section("\n".join(outcome)))
    if alert.links:
        # Links as mrkdwn, not buttons: a webhook app has no interactivity endpoint, and Slack
        # flags clicks on its buttons as errors.
        lines = _link_lines(alert, _slack_link, _mrkdwn, url_chars=1000)
        blocks.append(_section(_lines_within(lines, SLACK_TEXT_CHARS // 2)))
    if alert.items:
        heading = f"*{_mrkdwn(alert.items_title, 100)}*"
        lines = _ranked_lines(alert, "*", _mrkdwn)
        ranked = _lines_within(lines, SLACK_TEXT_CHARS - len(heading) - 1)
        blocks.append(_section(f"{heading}\n{ranked}"))
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"continual-ml · `{alert.event}`"}],
    }
    if alert.fields:
        facts = list(alert.fields.items())
        if len(facts) > SLACK_MAX_FIELDS:
            hidden = len(facts) - SLACK_MAX_FIELDS + 1
            facts = facts[: SLACK_MAX_FIELDS - 1] + [("More", f"+{hidden} fields not shown")]
        used = sum(_block_chars(block) for block in [*blocks, context])
        share = (SLACK_MESSAGE_CHARS - used) // len(facts)
        limit = min(SLACK_FIELD_CHARS, max(share, 60))
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": _mrkdwn(f"*{k}*\n{v}", limit)} for k, v in facts
                ],
            }
        )
    blocks.append(context)
    return {"text": _mrkdwn(alert.as_line(), SLACK_TEXT_CHARS), "blocks": blocks}


def _embed_field(name: object, value: object, inline: bool) -> dict:
    # Discord rejects empty names and values, so a blank one becomes a dash.
    return {
        "name": _clip(name, DISCORD_FIELD_NAME_CHARS) or "-",
        "value": _clip(value, DISCORD_FIELD_VALUE_CHARS) or "-",
        "inline": inline,
    }


def _embed_chars(embed: dict) -> int:
    named = [embed.get("title", ""), embed.get("description", ""), embed["footer"]["text"]]
    return sum(map(len, named)) + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])


def discord_payload(alert: Alert) -> dict:
    """A Discord webhook message with one embed, coloured by event."""
    fields = [_embed_field(label, value, inline=False) for label, value in _outcome(alert)]
    if alert.links:
        lines = _link_lines(alert, _discord_link, _clip, url_chars=300)
        fields.append(_embed_field("Links", _lines_within(lines, DISCORD_FIELD_VALUE_CHARS), False))
    if alert.items:
        value = _lines_within(_ranked_lines(alert, "**", _clip), DISCORD_FIELD_VALUE_CHARS)
        fields.append(_embed_field(alert.items_title, value, inline=False))
    facts = [_embed_field(k, v, inline=True) for k, v in alert.fields.items()]
    room = DISCORD_MAX_FIELDS - len(fields)
    if len(facts) > room:
        hidden = len(facts) - room + 1
        facts = facts[: room - 1] + [_embed_field("More", f"+{hidden} fields not shown", True)]
    embed = {
        "title": _clip(_headline(alert), DISCORD_TITLE_CHARS),
        "color": EVENT_STYLE[alert.event][1],
        "fields": fields + facts,
        "footer": {"text": _clip(f"continual-ml · {alert.event}", DISCORD_FOOTER_CHARS)},
    }
    if alert.text:
        embed["description"] = _clip(alert.text, DISCORD_DESCRIPTION_CHARS)
    web_links = [url for url in alert.links.values() if _web_url(url)]
    if web_links:
        embed["url"] = web_links[0]  # the title links to the first web link
    # Over the 6000 total, shorten the description first, then drop the least important fields
    # (the facts come last, after action, impact, links and the ranked items).
    excess = _embed_chars(embed) - DISCORD_EMBED_TOTAL_CHARS
    if excess > 0 and "description" in embed:
        keep = max(len(embed["description"]) - excess, 500)
        embed["description"] = _clip(embed["description"], keep)
    while _embed_chars(embed) > DISCORD_EMBED_TOTAL_CHARS:
        embed["fields"].pop()
    return {
        "content": _clip(f"**{_headline(alert)}**", DISCORD_CONTENT_CHARS),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},  # data such as a feature name never pings @everyone
    }


def send_alert(
    alert: Alert,
    *,
    slack_webhook_url: str | None,
    discord_webhook_url: str | None,
    record_path: Path | None,
    timeout_seconds: float = 5.0,
    bound_seconds: float = 10.0,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> list[str]:
    """Deliver to every configured sink at once, all within `bound_seconds`, and record it; a
    failing sink is reported, never raised.

    Runs (through `AlertsResource`), `up`'s supervisor and the service all alert through here."""
    sinks = {
        "slack": (slack_webhook_url, slack_payload),
        "discord": (discord_webhook_url, discord_payload),
    }
    posts = {name: (url, to_payload(alert)) for name, (url, to_payload) in sinks.items() if url}
    outcomes = post_to_all(posts, timeout_seconds, bound_seconds)
    delivered = [name for name, failure in outcomes.items() if failure is None]
    for name, failure in outcomes.items():
        if failure is not None:
            warn(f"alert to {name} not delivered ({failure}): {alert.as_line()}")
    if not delivered:
        say(f"alert: {alert.as_line()}")
    if record_path:
        try:
            record_alert(record_path, alert, delivered)
        except OSError as error:  # a full disk: the webhooks above needed none
            warn(f"alert not recorded in {record_path} ({error.strerror}): {alert.as_line()}")
    return delivered
