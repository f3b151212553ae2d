"""Cut the parts of the Bot API spec the sandbox needs out of the full scraped spec.

The repository must work without /work/shared, so the subset is committed as `api_subset.json`.
Run again after a Bot API update:

    python -m sandbox.make_spec_subset /path/to/telegram-bot-api/api.json

Implemented methods keep their parameters; every other method keeps only its name, so the
sandbox can tell "Telegram has this, the sandbox does not" from "no such method". Types are
the ones reachable from the implemented methods' parameters (what a bot can send), plus the
names of update kinds for `allowed_updates`.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

IMPLEMENTED = (
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "setChatMenuButton",
    "sendDocument",
    "sendPhoto",
    "sendVoice",
    "sendAudio",
    "sendVideo",
    "copyMessage",
    "forwardMessage",
    "getFile",
    "getChat",
    "getChatMember",
    "createForumTopic",
    "editForumTopic",
    "closeForumTopic",
    "reopenForumTopic",
    "deleteForumTopic",
    "leaveChat",
)

DEFAULT_SOURCE = Path("/work/shared/telegram-bot-api/api.json")
OUTPUT = Path(__file__).with_name("api_subset.json")
PRIMITIVES = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}
# Subtypes say which one they are in a field description such as "Scope type, must be chat".
CONST = re.compile(r"must be (?:always )?[\"“]?([a-z_]+)[\"”]?\s*$")


def base_type(name: str) -> str:
    """The element type of an "Array of ..." type name (the name itself otherwise)."""
    return name.rsplit("Array of ", 1)[-1]


def slim_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fields with only what the sandbox checks: name, types, whether required, a constant value."""
    slim = []
    for field in fields:
        entry: dict[str, Any] = {"name": field["name"], "types": field["types"], "required": field["required"]}
        match = CONST.search(field.get("description", ""))
        if field["name"] == "type" and match:
            entry["const"] = match.group(1)
        slim.append(entry)
    return slim


def make_subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The part of the full Bot API spec the sandbox implements: its methods and the types they use."""
    methods = spec["methods"]
    types = spec["types"]
    missing = [name for name in IMPLEMENTED if name not in methods]
    if missing:
        raise SystemExit(f"the spec has no {missing}")
    wanted: list[str] = []
    for name in IMPLEMENTED:
        for field in methods[name].get("fields", []):
            wanted.extend(base_type(t) for t in field["types"])
    kept: dict[str, Any] = {}
    while wanted:
        name = wanted.pop()
        if name in kept or name in PRIMITIVES:
            continue
        source = types[name]
        entry: dict[str, Any] = {}
        if "subtypes" in source:
            entry["subtypes"] = source["subtypes"]
            wanted.extend(source["subtypes"])
        if "fields" in source:
            entry["fields"] = slim_fields(source["fields"])
            for field in source["fields"]:
                wanted.extend(base_type(t) for t in field["types"])
        kept[name] = entry
    return {
        "source": "PaulSonOfLars/telegram-bot-api-spec (MIT), scraped from https://core.telegram.org/bots/api",
        "version": spec["version"],
        "release_date": spec["release_date"],
        "methods": {
            name: {"fields": slim_fields(methods[name].get("fields", [])), "returns": methods[name]["returns"]}
            for name in IMPLEMENTED
        },
        "other_methods": sorted(name for name in methods if name not in IMPLEMENTED),
        "types": dict(sorted(kept.items())),
        "update_types": [field["name"] for field in types["Update"]["fields"] if field["name"] != "update_id"],
    }


def main() -> None:
    """Write the sandbox's subset of the spec file given (or the default one) to api_subset.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    subset = make_subset(json.loads(args.source.read_text(encoding="utf-8")))
    OUTPUT.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(subset['methods'])} methods, {len(subset['types'])} types)")


if __name__ == "__main__":
    main()
