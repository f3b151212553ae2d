"""Reading a Bot API request's parameters and uploaded files from its query string and body.

The body may be JSON, a url-encoded form or multipart/form-data (how python-telegram-bot uploads files).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from sandbox.spec import UploadedFile

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]

_JSON_TYPE = "application/json"
_DISPOSITION = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Fields and files of a multipart/form-data body (Starlette's parser needs an extra package)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        attributes = {
            key: value.replace("%22", '"').replace("%0A", "\n").replace("%0D", "\r").replace("\\\\", "\\")
            for key, value in _DISPOSITION.findall(headers.get("content-disposition", ""))
        }
        if "name" not in attributes:
            raise ValueError("multipart part without a name")
        if "filename" in attributes:
            kind = headers.get("content-type", "application/octet-stream")
            files[attributes["name"]] = UploadedFile(attributes["filename"], kind, data)
        else:
            fields[attributes["name"]] = data.decode("utf-8")
    return fields, files


class ClientGone(Exception):
    """The client closed the connection before its request was read: nobody is left to answer."""


async def read_params(scope: Scope, receive: Receive) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """A request's parameters (query string and body) and uploaded files.

    ValueError if it cannot be read; `ClientGone` if the client hung up first (a bot stopping, a poll it
    cancelled): that is not a request Telegram would refuse, so it is not counted as a refusal.
    """
    query: bytes = scope["query_string"]
    params: dict[str, Any] = dict(parse_qsl(query.decode("utf-8"), keep_blank_values=True)) if query else {}
    files: dict[str, UploadedFile] = {}
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    if scope["method"] != "POST" or not body:
        return params, files
    content_type = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"content-type"), "")
    if content_type.startswith(_JSON_TYPE):
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body must be an object")
        params.update(data)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    elif content_type.startswith("multipart/form-data"):
        fields, files = parse_multipart(body, content_type)
        params.update(fields)
    else:
        raise ValueError(f"unsupported content type {content_type!r}")
    return params, files
