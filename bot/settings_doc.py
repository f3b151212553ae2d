"""The configuration reference, generated from the settings so the docs cannot drift."""

from __future__ import annotations

from services.settings import Settings


def settings_reference() -> str:
    """Every setting as a Markdown table (variable, default, meaning), for `python -m bot settings`."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(see meaning)" if name != "bot_admin_ids" else "(none)"
        else:
            default = "(unset)" if field.default is None else f"`{field.default}`"
        lines.append(f"| `{name.upper()}` | {default} | {field.description or ''} |")
    return "\n".join(lines)
