"""Telegram's text formatting: parse HTML / MarkdownV2 / Markdown into plain text plus entities.

Follows tdlib's parsers (td/telegram/MessageEntity.cpp) closely enough that what fails here fails
on Telegram, with the same error texts. Offsets and lengths are in UTF-16 code units, as in the
Bot API. One deliberate difference: tdlib lets a stray `&` through as a literal, while the Bot API
documentation says every `&` must be escaped; the sandbox follows the documentation so that
unescaped user input in a message shows up in tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """The text cannot be parsed; str(error) is the part after "can't parse entities: "."""


@dataclass(frozen=True)
class ParsedText:
    text: str
    entities: list[Entity] = field(default_factory=list)

    @property
    def length(self) -> int:
        """The text's length in UTF-16 code units, as Telegram counts it."""
        return utf16_len(self.text)


def utf16_len(text: str) -> int:
    """A text's length in UTF-16 code units, the unit of Telegram's offsets and limits."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    """The UTF-8 byte offset of a character index, as Telegram's error texts give it."""
    return len(source[:index].encode("utf-8"))


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


def _sorted(entities: list[Entity]) -> list[Entity]:
    """Entities in Telegram's order: by offset, longer ones first."""
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


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
_URL = re.compile(r"^(?:(?:https?|tg|ton)://\S+|[^\s/$.?#:]+\.\S+)$", re.IGNORECASE)


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
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
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
        raise EntityParseError(f"Unexpected end of name token at byte offset {_byte_offset(source, index)}")
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
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        index = _skip_space(source, index, begin)
        if source[index] != "=":
            if tag == "blockquote" and name == "expandable":
                argument = "expandable"
            continue
        index = _skip_space(source, index + 1, begin)
        value, index = _attribute_value(source, index)
        if index >= size:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
        argument = _tag_argument(tag, name, value, argument)


def _decoded_reference(source: str, index: int) -> tuple[str, int]:
    """The character a `&...;` reference at `index` stands for, and the index after it; an error if none."""
    decoded = _char_ref(source, index)
    if decoded is None:
        raise EntityParseError(
            f'Unescaped "&" at byte offset {_byte_offset(source, index)}: use &amp; '
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
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    open_tag = stack.pop()
    if end_name and end_name != open_tag.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
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
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    tag = source[index:name_end].lower()
    if tag not in _HTML_TYPES:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}')
    argument, close = _parse_attributes(source, name_end, tag, begin)
    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}')
    if tag == "tg-emoji" and not argument:
        raise EntityParseError(
            f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(source, begin)}'
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
    return ParsedText("".join(chunks), _sorted(entities))


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
        if not _URL.match(url):
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


# --- MarkdownV2 ------------------------------------------------------------------------------

_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


@dataclass
class _OpenMark:
    kind: str
    start: int  # UTF-16 offset in the output
    source_index: int
    chunk_start: int  # index in the output chunks, to recover the text of a link without URL
    argument: str = ""


def _v2_open(source: str, index: int, position: int, chunk_start: int) -> tuple[_OpenMark, int]:
    """The mark that opens at `index` (with a pre block's language), and the index after it; an error if none."""
    kind, width = _v2_opens(source, index)
    if kind is None:
        raise EntityParseError(f"Character '{source[index]}' is reserved and must be escaped with the preceding '\\'")
    mark = _OpenMark(kind, position, index, chunk_start)
    index += width
    if kind == "pre":
        newline = source.find("\n", index)
        if newline != -1 and "`" not in source[index:newline] and " " not in source[index:newline].strip():
            mark.argument = source[index:newline]
            index = newline + 1
    return mark, index


def _ends_expandable(source: str, index: int) -> bool:
    """Whether a "||" at `index` ends its line: the mark that makes a block quote expandable."""
    rest = source[index + 2 :]
    return source.startswith("||", index) and (rest == "" or rest.startswith("\n"))


def _v2_unclosed(source: str, top: _OpenMark) -> NoReturn:
    """The error for a mark still open at the end of the text."""
    raise EntityParseError(
        f"Can't find end of {top.kind.capitalize().replace('_', ' ')} entity at byte offset "
        f"{_byte_offset(source, top.source_index)}"
    )


def parse_markdown_v2(source: str) -> ParsedText:
    """MarkdownV2 parse mode: the text without marks and escapes, and its entities (tdlib's rules)."""
    if not any(char in _V2_RESERVED or char == "\\" for char in source):
        return ParsedText(source)
    out: list[str] = []
    position = 0
    stack: list[_OpenMark] = []
    entities: list[Entity] = []
    quote: _OpenMark | None = None
    index = 0
    size = len(source)

    def emit(text: str) -> None:
        """Add text to the output and move the UTF-16 position on."""
        nonlocal position
        out.append(text)
        position += utf16_len(text)

    while index < size:
        char = source[index]
        at_line_start = index == 0 or source[index - 1] == "\n"
        if at_line_start and quote is not None and char != ">" and not source.startswith("**>", index):
            _close_quote(quote, position, out, entities)
            quote = None
        if char == "\\" and index + 1 < size and 0 < ord(source[index + 1]) <= 126:
            emit(source[index + 1])
            index += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if in_code and char not in "`\\":
            emit(char)
            index += 1
            continue
        if at_line_start and not stack and (char == ">" or source.startswith("**>", index)):
            expandable = char == "*"
            index += 3 if expandable else 1
            if quote is None:
                quote = _OpenMark("expandable_blockquote" if expandable else "blockquote", position, index, len(out))
            continue
        if quote is not None and not stack and _ends_expandable(source, index):
            quote.kind = "expandable_blockquote"
            index += 2
            continue
        if char not in _V2_RESERVED:
            emit(char)
            index += 1
            continue
        top = stack[-1] if stack else None
        if top is not None and _v2_closes(top.kind, source, index):
            index = _v2_close(top, source, index, position, out, entities)
            stack.pop()
            continue
        mark, index = _v2_open(source, index, position, len(out))
        stack.append(mark)
    if stack:
        _v2_unclosed(source, stack[-1])
    if quote is not None:
        _close_quote(quote, position, out, entities)
    return ParsedText("".join(out), _sorted(entities))


def _close_quote(quote: _OpenMark, position: int, out: list[str], entities: list[Entity]) -> None:
    """The entity of a block quote that ended (without the newline that ended it)."""
    # The newline that ends a quote is not part of it.
    end = position - 1 if out and out[-1].endswith("\n") else position
    if end > quote.start:
        entities.append({"type": quote.kind, "offset": quote.start, "length": end - quote.start})


def _v2_opens(source: str, index: int) -> tuple[str | None, int]:
    """The entity a MarkdownV2 mark at `index` opens and the mark's width, or (None, 0) if none."""
    char = source[index]
    if char == "_":
        return ("underline", 2) if source.startswith("__", index) else ("italic", 1)
    if char == "*":
        return "bold", 1
    if char == "~":
        return "strikethrough", 1
    if char == "|":
        return ("spoiler", 2) if source.startswith("||", index) else (None, 0)
    if char == "[":
        return "text_link", 1
    if char == "!" and source.startswith("![", index):
        return "custom_emoji", 2
    if char == "`":
        return ("pre", 3) if source.startswith("```", index) else ("code", 1)
    return None, 0


def _v2_closes(kind: str, source: str, index: int) -> bool:
    """Whether the mark at `index` closes an open entity of this kind."""
    char = source[index]
    if kind == "italic":
        return char == "_" and not source.startswith("__", index)
    if kind == "underline":
        return source.startswith("__", index)
    if kind == "bold":
        return char == "*"
    if kind == "strikethrough":
        return char == "~"
    if kind == "spoiler":
        return source.startswith("||", index)
    if kind in ("text_link", "custom_emoji"):
        return char == "]"
    if kind == "pre":
        return source.startswith("```", index)
    return kind == "code" and char == "`"


def _v2_close(mark: _OpenMark, source: str, index: int, position: int, out: list[str], entities: list[Entity]) -> int:
    """Close an entity at `index` (a link reads its URL); the index after the closing mark."""
    width = 2 if mark.kind in ("underline", "spoiler") else 3 if mark.kind == "pre" else 1
    index += width
    entity: Entity = {"type": mark.kind, "offset": mark.start, "length": position - mark.start}
    if mark.kind in ("text_link", "custom_emoji"):
        target = ""
        if index < len(source) and source[index] == "(":
            index += 1
            chars = []
            while index < len(source) and source[index] != ")":
                if source[index] == "\\" and index + 1 < len(source):
                    index += 1
                chars.append(source[index])
                index += 1
            if index >= len(source):
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(source, mark.source_index)}"
                )
            index += 1
            target = "".join(chars)
        if mark.kind == "custom_emoji":
            if not target.startswith("tg://emoji?id="):
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            entity["custom_emoji_id"] = target.removeprefix("tg://emoji?id=")
        else:
            url = target or "".join(out[mark.chunk_start :])
            if not _URL.match(url):
                return index
            entity["url"] = url
    elif mark.kind == "pre" and mark.argument:
        entity["language"] = mark.argument
    if entity["length"] > 0:
        entities.append(entity)
    return index


# --- Markdown (legacy) -----------------------------------------------------------------------

_LEGACY_MARKS = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}


def parse_markdown(source: str) -> ParsedText:
    """Legacy Markdown parse mode: *bold*, _italic_, `code`, ```pre``` and [links](url), as tdlib reads them."""
    if not any(char in source for char in "*_`[\\"):
        return ParsedText(source)
    out: list[str] = []
    position = 0
    entities: list[Entity] = []
    index = 0
    size = len(source)
    while index < size:
        char = source[index]
        if char == "\\" and index + 1 < size and source[index + 1] in "_*`[":
            out.append(source[index + 1])
            position += 1
            index += 2
            continue
        if char not in _LEGACY_MARKS:
            out.append(char)
            position += utf16_len(char)
            index += 1
            continue
        begin = index
        if char == "`" and source.startswith("```", index):
            end = source.find("```", index + 3)
            kind, body_start, after = "pre", index + 3, end + 3
        else:
            kind = _LEGACY_MARKS[char]
            closer = "]" if char == "[" else char
            end = source.find(closer, index + 1)
            body_start, after = index + 1, end + 1
        if end == -1:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(source, begin)}"
            )
        body = source[body_start:end]
        entity: Entity = {"type": kind, "offset": position, "length": utf16_len(body)}
        if kind == "pre" and "\n" in body and " " not in body.split("\n", 1)[0]:
            language, body = body.split("\n", 1)
            entity["length"] = utf16_len(body)
            if language:
                entity["language"] = language
        if kind == "text_link":
            if not source.startswith("(", after):
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(source, begin)}"
                )
            url_end = source.find(")", after)
            if url_end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(source, begin)}"
                )
            entity["url"] = source[after + 1 : url_end]
            after = url_end + 1
        out.append(body)
        position += entity["length"]
        if entity["length"] and (kind != "text_link" or _URL.match(entity["url"])):
            entities.append(entity)
        index = after
    return ParsedText("".join(out), _sorted(entities))
