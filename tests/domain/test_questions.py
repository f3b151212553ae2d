"""The family's own questions: the words, the review plan, decisions, casework dates and the figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import questions as rules
from domain.questions import (
    Decision,
    DecisionReason,
    DueQuestion,
    QuestionFact,
    ReviewAnswer,
    ReviewFact,
    TextProblem,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def test_words_are_folded_and_checked_for_length() -> None:
    assert rules.clean_text("  a  break\n for   me ") == "a break for me"
    assert rules.text_problem("  .  ") == TextProblem.EMPTY
    assert rules.text_problem(None) == TextProblem.EMPTY
    assert rules.text_problem("x" * rules.MAX_QUESTION_CHARS) is None
    assert rules.text_problem("x" * (rules.MAX_QUESTION_CHARS + 1)) == TextProblem.TOO_LONG


def test_the_first_part_of_a_long_question_is_cut_at_a_word() -> None:
    long = "help me with the forms of the school " * 30
    cut = rules.shortened(long)
    assert len(cut) <= rules.MAX_QUESTION_CHARS and cut.endswith("…")
    assert rules.text_problem(cut) is None
    assert not cut[:-1].endswith(" ")
    assert long.startswith(cut[:-1])
    assert rules.shortened("short") == "short"


def test_the_question_waiting_longest_is_asked_and_never_two_in_a_week() -> None:
    due = [DueQuestion(2, NOW - timedelta(days=1)), DueQuestion(1, NOW - timedelta(days=3))]
    assert rules.plan_review(due, now=NOW, last_review_message_at=None, open_concern=False).ask == 1
    recent = NOW - timedelta(days=2)
    plan = rules.plan_review(due, now=NOW, last_review_message_at=recent, open_concern=False)
    assert plan.ask is None and plan.wait_until == recent + rules.REVIEW_GAP
    week_ago = NOW - rules.REVIEW_GAP
    assert rules.plan_review(due, now=NOW, last_review_message_at=week_ago, open_concern=False).ask == 1


def test_nothing_is_asked_while_a_concern_is_open_nor_before_it_is_due() -> None:
    due = [DueQuestion(1, NOW - timedelta(hours=1))]
    plan = rules.plan_review(due, now=NOW, last_review_message_at=None, open_concern=True)
    assert plan.ask is None and plan.wait_until == NOW + rules.REVIEW_GAP
    later = [DueQuestion(1, NOW + timedelta(days=3))]
    plan = rules.plan_review(later, now=NOW, last_review_message_at=None, open_concern=False)
    assert plan == rules.ReviewPlan(None, NOW + timedelta(days=3))
    assert rules.plan_review([], now=NOW, last_review_message_at=None, open_concern=False) == rules.ReviewPlan(
        None, None
    )


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["no", "no"], True),
        (["helps", "no", "no"], True),
        (["no", "a_bit", "no"], False),
        (["no"], False),
        ([], False),
        (["no", "no", "helps"], False),
        (["no", "bogus", "no"], True),  # an unknown answer is no answer
    ],
)
def test_two_nos_in_a_row_need_a_decision(answers: list[str], expected: bool) -> None:
    assert rules.needs_decision(answers) is expected


def test_each_decision_has_its_own_short_list_of_reasons() -> None:
    assert rules.reason_allowed(Decision.STOP, DecisionReason.NOT_HELPING)
    assert not rules.reason_allowed(Decision.STOP, DecisionReason.HELPS)
    assert not rules.reason_allowed(Decision.CONTINUE, DecisionReason.HELPER_STOPPED)
    assert all(rules.REASONS_FOR[decision] for decision in Decision)


def test_reviews_keep_their_wall_clock_time_across_daylight_saving() -> None:
    before_change = datetime(2027, 3, 15, 9, 30, tzinfo=UTC)  # 10:30 in Amsterdam, winter time
    after = rules.next_review_after(before_change, every_weeks=4, zone="Europe/Amsterdam")
    assert after.astimezone(AMS).hour == 10 and after.astimezone(AMS).minute == 30
    assert after.utcoffset() != datetime(2027, 3, 15, 10, 30, tzinfo=AMS).utcoffset()
    first = rules.first_review_at(datetime(2026, 10, 10, 12, 0, tzinfo=UTC), every_weeks=4, zone="Europe/Amsterdam")
    assert first.date() == date(2026, 11, 7) and first.astimezone(AMS).hour == 10


def test_casework_meetings_follow_the_rhythm_and_the_agenda_comes_three_days_before() -> None:
    today = date(2026, 12, 7)
    assert rules.next_casework_on(None, today=today, every_weeks=4) == date(2027, 1, 4)
    assert rules.next_casework_on(date(2026, 12, 1), today=today, every_weeks=6) == date(2027, 1, 12)
    # A last meeting long ago never plans one in the past: at least the agenda's days ahead.
    assert rules.next_casework_on(date(2026, 1, 1), today=today, every_weeks=3) == today + timedelta(days=3)
    agenda = rules.agenda_at(date(2027, 3, 31), zone="Europe/Amsterdam")
    assert agenda.astimezone(AMS).date() == date(2027, 3, 28) and agenda.astimezone(AMS).hour == 9
    assert rules.clamp_weeks(5, rules.CASEWORK_WEEK_CHOICES) == 5
    assert rules.clamp_weeks(7, rules.CASEWORK_WEEK_CHOICES) is None


def test_the_figures_count_themes_and_shares_and_suppress_small_counts() -> None:
    named = [QuestionFact("break", NOW - timedelta(days=30), NOW - timedelta(days=27)) for _ in range(6)] + [
        QuestionFact("own", NOW - timedelta(days=30), None) for _ in range(2)
    ]
    reviews = [ReviewFact(ReviewAnswer.HELPS, NOW) for _ in range(4)] + [ReviewFact(ReviewAnswer.NO, NOW)] * 2
    reviews += [ReviewFact(ReviewAnswer.NOT_NEEDED, NOW)]
    rows = {
        (row.metric, row.category, row.week): row.value
        for row in rules.question_rows(named, reviews, ["not_helping"] * 5, zone="Europe/Amsterdam", threshold=5)
    }
    assert rows[("questions_named", "", "")] == "8"
    # One small cell would be told by the total, so the next smallest is withheld with it.
    assert rows[("questions_by_theme", "own", "")] == "<5"
    assert rows[("questions_by_theme", "break", "")] == "<5"
    assert rows[("reviews_answered", "", "")] == "7"
    assert rows[("reviews_helps_share", "", "")] == ""  # 4 of 6 judged: the part is a small count
    assert rows[("help_stopped_by_reason", "not_helping", "")] == "5"
    assert rows[("median_days_to_first_help", "", "")] == "3.0"


def test_the_figures_withhold_a_median_of_few_questions() -> None:
    named = [QuestionFact("forms", NOW - timedelta(days=5), NOW) for _ in range(2)]
    rows = rules.question_rows(named, [], [], zone="Europe/Amsterdam", threshold=5)
    values = {row.metric: row.value for row in rows if not row.category and not row.week}
    assert values["median_days_to_first_help"] == "" and values["questions_named"] == "<5"
    assert values["help_stopped"] == "0"
