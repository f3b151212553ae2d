"""No unused functions (issue 13): a check, not a memory.

vulture reads the production packages together with the tests and benchmarks, so a function counts as used
when anything calls it; what nothing calls is dead code and goes. Callbacks that a framework calls by name
(pydantic validators, SQLAlchemy events and type hooks, properties read by the Jinja templates, langdetect's
detector hooks) are named below, so the check stays exact for everything else. Unused variables and
attributes are not checked: the tool cannot see dataclass fields read through templates or `asdict`.
"""

from __future__ import annotations

from pathlib import Path

from vulture import Vulture

ROOT = Path(__file__).resolve().parent.parent
READ = ("bot", "conversations", "domain", "services", "storage", "sandbox", "web", "scripts", "tests", "bench")
PRODUCTION = ("bot", "conversations", "domain", "services", "storage", "sandbox", "web", "scripts")
CALLED_BY_A_FRAMEWORK = [
    "process_bind_param",  # storage/types.py: SQLAlchemy's TypeDecorator hooks
    "process_result_value",
    "label_y",  # web/charts.py: read by web/templates/_charts.html
    "do_request",  # bot/http_client.py: python-telegram-bot's BaseRequest calls it
    "_update_lang_prob",  # domain/language_profiles.py: langdetect's Detector and DetectorFactory call them
    "_create_detector",
]
KINDS = {"function", "method", "class", "property"}


def test_no_function_is_unused() -> None:
    vulture = Vulture(
        ignore_decorators=["@field_validator", "@model_validator", "@event.listens_for", "@pytest.fixture"],
        ignore_names=CALLED_BY_A_FRAMEWORK,
    )
    vulture.scavenge([str(ROOT / folder) for folder in READ], exclude=["*/migrations/versions/*", "*/.venv/*"])
    unused = [
        f"{Path(item.filename).relative_to(ROOT)}:{item.first_lineno}: {item.typ} {item.name}"
        for item in vulture.get_unused_code(min_confidence=60)
        if item.typ in KINDS and Path(item.filename).relative_to(ROOT).parts[0] in PRODUCTION
    ]
    assert not unused, "nothing calls these (delete them, or name a framework callback here):\n" + "\n".join(unused)
