"""The Bot API spec subset, indexed once, and parameter checking against it.

Telegram's server reads every parameter as text and converts it by the documented type, which is
why python-telegram-bot can send `chat_id=123` and `reply_markup={"inline_keyboard": ...}` as
form fields. `Spec.coerce_params` does the same conversion and refuses what does not fit. It is
stricter than Telegram in one way: unknown parameter and field names are refused instead of
silently ignored, because in a bot they are nearly always typos (except the few that
python-telegram-bot itself adds, see LIBRARY_DEFAULTS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SUBSET_PATH = Path(__file__).with_name("api_subset.json")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ATTACH = "attach://"
# python-telegram-bot fills these from its `Defaults` into every call that goes through its shared
# send/edit helper, also where the method has no such parameter (parse_mode on
# editMessageReplyMarkup). Telegram ignores them there, so the sandbox drops them too; any other
# unknown name is still refused.
LIBRARY_DEFAULTS = frozenset({"parse_mode", "disable_notification", "protect_content", "link_preview_options"})


class SpecError(Exception):
    """A parameter Telegram would refuse; the message is the full error description."""


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Field:
    name: str
    types: tuple[str, ...]
    required: bool
    const: str | None = None


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: dict[str, Field]
    required: tuple[str, ...]


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: dict[str, Field]
    required: frozenset[str]
    subtypes: tuple[str, ...]


def _fields(raw: list[dict[str, Any]]) -> dict[str, Field]:
    """A method's or type's fields from the spec file, by name."""
    return {
        entry["name"]: Field(entry["name"], tuple(entry["types"]), entry["required"], entry.get("const"))
        for entry in raw
    }


def _type_error(where: str, types: tuple[str, ...]) -> SpecError:
    """Telegram's error for a parameter of the wrong type."""
    return SpecError(f'Bad Request: parameter "{where}" must be of type {" or ".join(types)}')


class Spec:
    def __init__(self, data: dict[str, Any]) -> None:
        """Index the spec file's methods (by lower-case name) and types once."""
        self.version: str = data["version"]
        self.methods: dict[str, MethodSpec] = {}
        for name, entry in data["methods"].items():
            fields = _fields(entry["fields"])
            required = tuple(field.name for field in fields.values() if field.required)
            self.methods[name.lower()] = MethodSpec(name, fields, required)
        self.other_methods = {name.lower(): name for name in data["other_methods"]}
        self.types: dict[str, TypeSpec] = {}
        for name, entry in data["types"].items():
            fields = _fields(entry.get("fields", []))
            needed = frozenset(field.name for field in fields.values() if field.required)
            self.types[name] = TypeSpec(name, fields, needed, tuple(entry.get("subtypes", ())))
        self.update_types = frozenset(data["update_types"])

    def implemented(self, method: str) -> MethodSpec | None:
        """The spec of a method the sandbox implements (any case), or None."""
        return self.methods.get(method.lower())

    def known_elsewhere(self, method: str) -> str | None:
        """The spec's spelling of a method the sandbox does not implement, if Telegram has it."""
        return self.other_methods.get(method.lower())

    def coerce_params(
        self, method: MethodSpec, raw: Mapping[str, Any], files: Mapping[str, UploadedFile]
    ) -> dict[str, Any]:
        """A call's parameters checked and converted to their types, files attached; SpecError if one is wrong."""
        attached: set[str] = set()
        params: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields.get(name)
            if field is None:
                if name in LIBRARY_DEFAULTS:
                    continue
                raise SpecError(
                    f'Bad Request: the sandbox refuses unknown parameter "{name}" of {method.name} '
                    "(Telegram would silently ignore it)"
                )
            params[name] = self._value(value, field.types, name, files, attached, top=True)
        for name, upload in files.items():
            if name in attached:
                continue
            field = method.fields.get(name)
            if field is None or "InputFile" not in field.types or name in params:
                raise SpecError(f'Bad Request: unexpected file part "{name}" for {method.name}')
            params[name] = upload
        for name in method.required:
            if name not in params:
                raise SpecError(f'Bad Request: parameter "{name}" is required')
        return params

    def _value(
        self,
        value: Any,
        types: tuple[str, ...],
        where: str,
        files: Mapping[str, UploadedFile],
        attached: set[str],
        *,
        top: bool,
    ) -> Any:
        """A value checked against one of several types (a file, or the first type that fits)."""
        if len(types) == 1:
            return self._single(value, types[0], where, files, attached, top=top)
        if "InputFile" in types:
            return self._file(value, where, files, attached, types)
        if types == ("Integer", "String"):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str):
                return int(value) if _INTEGER.fullmatch(value) else value
            raise _type_error(where, types)
        # A union of object types (reply_markup): the one whose required fields are all there.
        obj = self._json_value(value, where, dict, top=top)
        for name in types:
            if self.types[name].required <= obj.keys():
                return self._object(obj, name, where, files, attached)
        raise SpecError(f"Bad Request: can't parse {where} JSON object")

    def _single(
        self,
        value: Any,
        type_name: str,
        where: str,
        files: Mapping[str, UploadedFile],
        attached: set[str],
        *,
        top: bool,
    ) -> Any:
        """A value checked against one type and converted as Telegram does (numbers and booleans from form text)."""
        if type_name == "String":
            if isinstance(value, str):
                return value
            if top and isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
        elif type_name == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if top and isinstance(value, str) and _INTEGER.fullmatch(value):
                return int(value)
        elif type_name in ("Boolean", "True"):
            if isinstance(value, bool):
                return value
            if top and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if top and value in (0, 1):
                return bool(value)
        elif type_name == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
            if top and isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
        elif type_name == "InputFile":
            return self._file(value, where, files, attached, (type_name,))
        elif type_name.startswith("Array of "):
            items = self._json_value(value, where, list, top=top)
            inner = type_name.removeprefix("Array of ")
            return [
                self._single(item, inner, f"{where}[{index}]", files, attached, top=False)
                for index, item in enumerate(items)
            ]
        elif type_name == "KeyboardButton" and isinstance(value, str):
            # Telegram takes a bare string as a button with that text.
            return {"text": value}
        elif type_name in self.types:
            return self._object(self._json_value(value, where, dict, top=top), type_name, where, files, attached)
        raise _type_error(where, (type_name,))

    def _file(
        self,
        value: Any,
        where: str,
        files: Mapping[str, UploadedFile],
        attached: set[str],
        types: tuple[str, ...],
    ) -> UploadedFile | str:
        """An InputFile value: an upload, an attach:// reference to one, or a file id or URL."""
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str):
            if value.startswith(_ATTACH):
                name = value.removeprefix(_ATTACH)
                if name not in files:
                    raise SpecError(f'Bad Request: file part "{name}" for {where} not found')
                attached.add(name)
                return files[name]
            if "String" in types:
                return value
        raise _type_error(where, types)

    @staticmethod
    def _json_value(value: Any, where: str, kind: type[dict[str, Any]] | type[list[Any]], *, top: bool) -> Any:
        """A JSON object (`dict`) or array (`list`) value (JSON text at the top level of a form), or a type error."""
        noun = "object" if kind is dict else "array"
        if top and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise SpecError(f"Bad Request: can't parse {where} JSON {noun}") from None
        if not isinstance(value, kind):
            raise SpecError(f"Bad Request: {where} must be a JSON {noun}")
        return value

    def _object(
        self,
        obj: dict[str, Any],
        type_name: str,
        where: str,
        files: Mapping[str, UploadedFile],
        attached: set[str],
    ) -> dict[str, Any]:
        """An object checked against its type (or the subtype its "type" field names), field by field."""
        spec = self.types[type_name]
        if spec.subtypes and not spec.fields:
            kind = obj.get("type")
            for subtype in spec.subtypes:
                discriminator = self.types[subtype].fields.get("type")
                if discriminator is not None and discriminator.const == kind:
                    return self._object(obj, subtype, where, files, attached)
            raise SpecError(f"Bad Request: unsupported {type_name} type {kind!r} in {where}")
        result: dict[str, Any] = {}
        for key, value in obj.items():
            field = spec.fields.get(key)
            if field is None:
                raise SpecError(
                    f'Bad Request: the sandbox refuses unknown field "{key}" of {type_name} in {where} '
                    "(Telegram would silently ignore it)"
                )
            result[key] = self._value(value, field.types, f"{where}.{key}", files, attached, top=False)
            if field.const is not None and result[key] != field.const:
                raise SpecError(f'Bad Request: field "{where}.{key}" must be "{field.const}"')
        missing = spec.required - obj.keys()
        if missing:
            raise SpecError(f'Bad Request: field "{where}.{min(missing)}" of {type_name} is required')
        return result


@cache
def load_spec(path: Path = SUBSET_PATH) -> Spec:
    """The Bot API spec subset shipped with the sandbox (or the one at `path`)."""
    return Spec(json.loads(path.read_text(encoding="utf-8")))
