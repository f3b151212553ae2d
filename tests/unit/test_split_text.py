"""Long replies are cut between paragraphs, never inside one that fits, and every part fits Telegram."""

from __future__ import annotations

from conversations.ui import split_text


def test_a_short_text_is_one_part() -> None:
    assert split_text("<b>Hi</b>\n\nthere") == ["<b>Hi</b>\n\nthere"]


def test_a_long_text_is_cut_between_paragraphs_and_keeps_every_character() -> None:
    paragraphs = [f"<b>Part {n}</b> " + "x" * 900 for n in range(10)]
    parts = split_text("\n\n".join(paragraphs), limit=2000)
    assert all(len(part) <= 2000 for part in parts)
    assert "\n\n".join(parts) == "\n\n".join(paragraphs)
    assert all(part.count("<b>") == part.count("</b>") for part in parts), "no tag is split"


def test_a_paragraph_longer_than_a_message_is_cut_at_a_line_break() -> None:
    paragraph = "\n".join("y" * 300 for _ in range(10))
    parts = split_text(paragraph, limit=1000)
    assert all(len(part) <= 1000 for part in parts) and len(parts) == 4
