"""Callback data is parsed one way: only what a button made comes back, typed; anything else is refused."""

from __future__ import annotations

import pytest

from services.callbacks import Button

TAKE = Button("tst", "take", int)
PICK = Button("tst", "pick", int, str)
DONE = Button("tst", "done")


def test_a_button_reads_back_what_it_made() -> None:
    assert TAKE.data(42) == "tst:take:42"
    assert TAKE.parse(TAKE.data(42)) == (42,)
    assert PICK.parse(PICK.data(7, "en")) == (7, "en")
    assert DONE.parse(DONE.data()) == ()


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "tst:take",  # a field missing
        "tst:take:42:43",  # one too many
        "tst:take:abc",  # not a number
        "tst:take:4.2",
        "tst:pick:7:ë",  # not plain
        "tst:pick:7:" + "x" * 25,  # too long a field
        "tst:pick:7:a b",
        "tsx:take:42",  # another prefix
        "tst:pick:42",  # another action's data
        "tst:take:" + "9" * 70,  # over 64 bytes
    ],
)
def test_anything_else_is_refused(data: str | None) -> None:
    assert TAKE.parse(data) is None


def test_a_value_that_would_not_read_back_is_refused_when_made() -> None:
    with pytest.raises(AssertionError):
        PICK.data(1, "two words")
    with pytest.raises(AssertionError):
        TAKE.data()


def test_two_buttons_cannot_share_a_prefix_and_action_with_other_fields() -> None:
    assert Button("tst", "take", int) == TAKE
    with pytest.raises(AssertionError):
        Button("tst", "take", str)


def test_the_pattern_routes_only_this_action() -> None:
    import re

    assert re.match(TAKE.pattern, "tst:take:42")
    assert not re.match(TAKE.pattern, "tst:takeover:42")
    assert re.match(DONE.pattern, "tst:done")


ANSWER = Button("tsa", "", int, str)  # tsa:<id>:<answer>, data kept from before the codec
WEEKS = Button("tsw", "", int)
RESUME = Button("tsw", "resume")


def test_a_button_without_an_action_keeps_its_old_data() -> None:
    import re

    assert ANSWER.data(12, "good") == "tsa:12:good"
    assert ANSWER.parse("tsa:12:good") == (12, "good")
    assert ANSWER.parse("tsa:good:12") is None and ANSWER.parse("tsa:12") is None
    assert WEEKS.parse("tsw:3") == (3,) and WEEKS.parse("tsw:resume") is None
    assert RESUME.parse("tsw:resume") == () and RESUME.parse("tsw:3") is None
    assert re.match(WEEKS.pattern, "tsw:3") and not re.match(WEEKS.pattern, "tsw:resume")
    assert re.match(RESUME.pattern, "tsw:resume") and not re.match(RESUME.pattern, "tsw:3")
