"""Telegram's text formatting: parse HTML / MarkdownV2 / Markdown into plain text plus entities.

The HTML parser is here, the Markdown ones in `sandbox.markdown`; what they return in `sandbox.entities`.

Follows tdlib's parsers (td/telegram/MessageEntity.cpp) closely enough that what fails here fails
on Telegram, with the same error texts. Offsets and lengths are in UTF-16 code units, as in the
Bot API. One deliberate difference: tdlib lets a stray `&` through as a literal, while the Bot API
documentation says every `&` must be escaped; the sandbox follows the documentation so that
unescaped user input in a message shows up in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.entities import LINK_URL, Entity, EntityParseError, ParsedText, byte_offset, sorted_entities, utf16_len
from sandbox.markdown import parse_markdown, parse_markdown_v2


def parse(text: str, parse_mode: str | None, entities: list[Entity] | None = None) -> ParsedText:
    """Parse like Telegram does, then trim surrounding whitespace as Telegram does."""
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            parsed = parse_html(text)
        elif mode == "markdownv2":
            parsed = parse_markdown_v2(text)
        elif mode == "markdown":
            parsed = parse_markdown(text)
        else:
            raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    else:
        parsed = ParsedText(text, list(entities or []))
    return _trim(parsed)


def _trim(parsed: ParsedText) -> ParsedText:
    """Strip surrounding whitespace as Telegram does, shortening or dropping the entities it cut."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    if not stripped:
        return ParsedText("", [])
    # Stripped characters are whitespace in the BMP, so characters equal UTF-16 units here.
    lead = len(text) - len(text.lstrip())
    end = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        stop = min(entity["offset"] + entity["length"] - lead, end)
        if stop > start:
            entities.append({**entity, "offset": start, "length": stop - start})
    return ParsedText(stripped, entities)


# --- HTML ------------------------------------------------------------------------------------

_HTML_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_CHAR_REF = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]{1,10}));")
_SPACE = " \t\r\n\f\v"
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")


def _char_ref(source: str, index: int) -> tuple[str, int] | None:
    """The character a supported reference (&lt; &#123; &#x1F600;) at `index` stands for, the index after it."""
    match = _CHAR_REF.match(source, index)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED.get(name)
        return (char, match.end()) if char else None
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


@dataclass
class _OpenTag:
    name: str
    argument: str
    start: int  # UTF-16 offset in the output
    text_start: int  # index in the output chunks, to recover the text of <a> without href


def _skip_space(source: str, index: int, begin: int) -> int:
    """The index of the next non-space character inside a start tag; an error if the text ends first."""
    size = len(source)
    while index < size and source[index] in _SPACE:
        index += 1
    if index >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(source, begin)}")
    return index


def _attribute_value(source: str, index: int) -> tuple[str, int]:
    """An attribute value at `index` (quoted, with character references, or a bare name token), and the index after."""
    size = len(source)
    if source[index] in "'\"":
        quote = source[index]
        index += 1
        value_chars = []
        while index < size and source[index] != quote:
            if source[index] == "&":
                decoded = _char_ref(source, index)
                if decoded is not None:
                    value_chars.append(decoded[0])
                    index = decoded[1]
                    continue
            value_chars.append(source[index])
            index += 1
        return "".join(value_chars), index + 1
    token = _NAME_TOKEN.match(source, index)
    assert token is not None  # the pattern matches the empty string
    index = token.end()
    if index < size and source[index] not in _SPACE and source[index] != ">":
        raise EntityParseError(f"Unexpected end of name token at byte offset {byte_offset(source, index)}")
    return token.group().lower(), index


def _tag_argument(tag: str, name: str, value: str, argument: str) -> str:
    """The tag's argument after one attribute: a link's href, a code language, an emoji id, a span class."""
    if (
        (tag == "a" and name == "href")
        or (tag == "code" and name == "class" and value.startswith("language-"))
        or (tag == "tg-emoji" and name == "emoji-id")
    ):
        return value.removeprefix("language-") if tag == "code" else value
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[3:]
    return argument


def _parse_attributes(source: str, index: int, tag: str, begin: int) -> tuple[str, int]:
    """Read attributes up to '>' (tdlib rules); return the argument the tag needs and the index of '>'."""
    size = len(source)
    argument = ""
    while True:
        index = _skip_space(source, index, begin)
        if source[index] == ">":
            return argument, index
        name_start = index
        while index < size and source[index] not in _SPACE and source[index] not in "=>":
            index += 1
        name = source[name_start:index].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(source, begin)}'
            )
        index = _skip_space(source, index, begin)
        if source[index] != "=":
            if tag == "blockquote" and name == "expandable":
                argument = "expandable"
            continue
        index = _skip_space(source, index + 1, begin)
        value, index = _attribute_value(source, index)
        if index >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(source, begin)}")
        argument = _tag_argument(tag, name, value, argument)


def _decoded_reference(source: str, index: int) -> tuple[str, int]:
    """The character a `&...;` reference at `index` stands for, and the index after it; an error if none."""
    decoded = _char_ref(source, index)
    if decoded is None:
        raise EntityParseError(
            f'Unescaped "&" at byte offset {byte_offset(source, index)}: use &amp; '
            "(only &lt; &gt; &amp; &quot; and numeric entities are supported)"
        )
    return decoded


def _end_tag(source: str, begin: int, stack: list[_OpenTag]) -> tuple[_OpenTag, int]:
    """Read the end tag at `begin` ("</b>", or "</>"): the open tag it closes (taken off the stack), the index after."""
    size = len(source)
    index = begin + 1
    name_end = index + 1
    while name_end < size and source[name_end] not in _SPACE and source[name_end] != ">":
        name_end += 1
    end_name = source[index + 1 : name_end].lower()
    while name_end < size and source[name_end] in _SPACE:
        name_end += 1
    if name_end >= size or source[name_end] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(source, begin)}")
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(source, begin)}")
    open_tag = stack.pop()
    if end_name and end_name != open_tag.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {byte_offset(source, begin)}, "
            f'expected "</{open_tag.name}>", found "</{end_name}>"'
        )
    return open_tag, name_end + 1


def _start_tag(source: str, begin: int) -> tuple[str, str, int]:
    """Read the start tag at `begin`: its name, the argument it carries, and the index after its '>'."""
    size = len(source)
    index = begin + 1
    name_end = index
    while name_end < size and source[name_end] not in _SPACE and source[name_end] != ">":
        name_end += 1
    if name_end >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(source, begin)}")
    tag = source[index:name_end].lower()
    if tag not in _HTML_TYPES:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {byte_offset(source, begin)}')
    argument, close = _parse_attributes(source, name_end, tag, begin)
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(source, begin)}')
    if tag == "tg-emoji" and not argument:
        raise EntityParseError(
            f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset(source, begin)}'
        )
    return tag, argument, close + 1


def parse_html(source: str) -> ParsedText:
    """HTML parse mode: the text without tags and character references, and its entities (tdlib's rules)."""
    if "<" not in source and "&" not in source:
        return ParsedText(source)
    chunks: list[str] = []
    position = 0
    stack: list[_OpenTag] = []
    entities: list[Entity] = []
    index = 0
    size = len(source)
    while index < size:
        special = _SPECIAL.search(source, index)
        stop = special.start() if special else size
        if stop > index:
            chunk = source[index:stop]
            chunks.append(chunk)
            position += utf16_len(chunk)
            index = stop
            if index >= size:
                break
        if source[index] == "&":
            char, index = _decoded_reference(source, index)
            chunks.append(char)
            position += utf16_len(char)
        elif source.startswith("</", index):
            open_tag, index = _end_tag(source, index, stack)
            _close_tag(open_tag, position, chunks, stack, entities)
        else:
            tag, argument, index = _start_tag(source, index)
            stack.append(_OpenTag(tag, argument, position, len(chunks)))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return ParsedText("".join(chunks), sorted_entities(entities))


def _close_tag(
    open_tag: _OpenTag, position: int, chunks: list[str], stack: list[_OpenTag], entities: list[Entity]
) -> None:
    """The entity an end tag completes (a link only with a valid URL; a code language moves to its pre)."""
    length = position - open_tag.start
    if length <= 0:
        return
    kind = _HTML_TYPES[open_tag.name]
    entity: Entity = {"type": kind, "offset": open_tag.start, "length": length}
    if kind == "text_link":
        url = open_tag.argument or "".join(chunks[open_tag.text_start :])
        if not LINK_URL.match(url):
            return
        entity["url"] = url
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = open_tag.argument
    elif kind == "blockquote" and open_tag.argument == "expandable":
        entity["type"] = "expandable_blockquote"
    elif kind == "code" and open_tag.argument:
        # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
        parent = stack[-1] if stack else None
        if parent is not None and parent.name == "pre" and parent.start == open_tag.start and not parent.argument:
            parent.argument = open_tag.argument
            return
    elif kind == "pre" and open_tag.argument:
        entity["language"] = open_tag.argument
    entities.append(entity)
