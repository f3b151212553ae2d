"""Telegram's entity parsing, as the sandbox reproduces it."""

from __future__ import annotations

import pytest

from sandbox.entities import EntityParseError, utf16_len
from sandbox.formatting import parse


def _entities(text: str, mode: str) -> list[tuple[str, int, int]]:
    return [(e["type"], e["offset"], e["length"]) for e in parse(text, mode).entities]


def test_html_tags_become_entities_with_utf16_offsets() -> None:
    parsed = parse("😀 <b>vet</b> <i>schuin <u>onder</u></i>", "HTML")
    assert parsed.text == "😀 vet schuin onder"
    assert _entities("😀 <b>vet</b> <i>schuin <u>onder</u></i>", "HTML") == [
        ("bold", 3, 3),
        ("italic", 7, 12),
        ("underline", 14, 5),
    ]
    assert utf16_len("😀") == 2


@pytest.mark.parametrize(
    ("source", "text", "extra"),
    [
        ('<a href="https://example.org/?a=1&amp;b=2">site</a>', "site", {"url": "https://example.org/?a=1&b=2"}),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", {"language": "python"}),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", {"custom_emoji_id": "5368324170671202286"}),
        ("<blockquote expandable>lang verhaal</blockquote>", "lang verhaal", {"type": "expandable_blockquote"}),
        ('<span class="tg-spoiler">geheim</span>', "geheim", {"type": "spoiler"}),
        ("<STRONG>hard</STRONG>", "hard", {"type": "bold"}),
    ],
)
def test_html_tags_with_attributes(source: str, text: str, extra: dict[str, str]) -> None:
    parsed = parse(source, "HTML")
    assert parsed.text == text
    assert extra.items() <= parsed.entities[0].items()


@pytest.mark.parametrize(
    ("source", "text"),
    [("&lt;&gt;&amp;&quot;", '<>&"'), ("&#65;&#x42;", "AB"), ("a > b", "a > b"), ("  ruimte  ", "ruimte")],
)
def test_html_entities_and_trimming(source: str, text: str) -> None:
    assert parse(source, "HTML").text == text


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4'),
        ("&nbsp;", 'Unescaped "&"'),
        ("é<b", "Unclosed start tag at byte offset 2"),
        ('<a href="x>y', "Unclosed start tag"),
        ("<tg-emoji>x</tg-emoji>", 'must have attribute "emoji-id"'),
    ],
)
def test_html_errors_match_telegram(source: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse(source, "HTML")
    assert error in str(caught.value)


def test_markdown_v2_entities_and_escapes() -> None:
    source = r"*vet* _schuin_ __onder__ ~door~ ||geheim|| `code` [link](https://example.org) 1\.5 \(ok\)"
    parsed = parse(source, "MarkdownV2")
    assert parsed.text == "vet schuin onder door geheim code link 1.5 (ok)"
    kinds = [e["type"] for e in parsed.entities]
    assert kinds == ["bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link"]
    assert parse("```python\nprint(1)\n```", "MarkdownV2").entities[0]["language"] == "python"
    assert parse(">citaat\n>meer\nnormaal", "MarkdownV2").entities[0] == {
        "type": "blockquote",
        "offset": 0,
        "length": 11,
    }


@pytest.mark.parametrize("source", ["1.5", "a-b", "(x)", "*open", "wow!", "#tag", "|x|"])
def test_markdown_v2_refuses_unescaped_reserved_characters(source: str) -> None:
    with pytest.raises(EntityParseError):
        parse(source, "MarkdownV2")


def test_legacy_markdown() -> None:
    parsed = parse("*vet* _schuin_ `code` [site](https://example.org) a\\_b", "Markdown")
    assert parsed.text == "vet schuin code site a_b"
    assert [e["type"] for e in parsed.entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError, match="Can't find end of the entity"):
        parse("*open", "Markdown")


def test_plain_text_keeps_given_entities() -> None:
    entities = [{"type": "bold", "offset": 0, "length": 3}]
    assert parse("vet en meer", None, entities).entities == entities
