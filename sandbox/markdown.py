"""Telegram's MarkdownV2 and legacy Markdown parse modes, following tdlib's parsers.

What fails here fails on Telegram, with the same error texts (see `sandbox.formatting`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from sandbox.entities import LINK_URL, Entity, EntityParseError, ParsedText, byte_offset, sorted_entities, utf16_len

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
        f"{byte_offset(source, top.source_index)}"
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
    return ParsedText("".join(out), sorted_entities(entities))


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
                    f"Can't find end of a URL at byte offset {byte_offset(source, mark.source_index)}"
                )
            index += 1
            target = "".join(chars)
        if mark.kind == "custom_emoji":
            if not target.startswith("tg://emoji?id="):
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            entity["custom_emoji_id"] = target.removeprefix("tg://emoji?id=")
        else:
            url = target or "".join(out[mark.chunk_start :])
            if not LINK_URL.match(url):
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
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {byte_offset(source, begin)}")
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
                    f"Can't find end of the entity starting at byte offset {byte_offset(source, begin)}"
                )
            url_end = source.find(")", after)
            if url_end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {byte_offset(source, begin)}"
                )
            entity["url"] = source[after + 1 : url_end]
            after = url_end + 1
        out.append(body)
        position += entity["length"]
        if entity["length"] and (kind != "text_link" or LINK_URL.match(entity["url"])):
            entities.append(entity)
        index = after
    return ParsedText("".join(out), sorted_entities(entities))
