"""Telegram under stress: flood limits, blocked users, migrated groups, failing servers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import Bot
from telegram.error import ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from sandbox import Sandbox
from tests.sandbox.conftest import HTTP, TOKEN, make_bot, raw_call, with_bot


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def waited(error: RetryAfter) -> float:
    """The wait a 429 asks for, in seconds (PTB gives an int or, opted in, a timedelta)."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def test_per_chat_flood_limit_gives_retry_after_in_ptb(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.user(2, "B")
    sb.set_flood_limits(global_per_second=None, per_chat_per_second=1, per_group_per_minute=None)

    async def burst(bot: Bot) -> list[object]:
        outcomes: list[object] = []
        for chat in (1, 1, 2):
            try:
                await bot.send_message(chat, "hoi")
                outcomes.append("sent")
            except RetryAfter as error:
                outcomes.append(error)
        return outcomes

    first, second, other_chat = with_bot(sb, burst)
    assert first == "sent" and other_chat == "sent"
    assert isinstance(second, RetryAfter) and waited(second) == 1
    assert sb.stats.too_many_requests == 1
    assert sb.stats.by_method_status["sendMessage", 429] == 1
    assert len(sb.delivered(1)) == 1


def test_429_body_has_telegrams_shape(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.set_flood_limits(per_chat_per_second=None, per_group_per_minute=None, global_per_second=2)
    assert [raw_call(sb, "sendMessage", chat_id=1, text="x")[0] for _ in range(2)] == [200, 200]
    status, body = raw_call(sb, "sendMessage", chat_id=1, text="x")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


def test_group_limit_is_per_minute_and_refused_calls_do_not_count(sb: Sandbox) -> None:
    sb.group(-100, "Buurt", forum=False)
    sb.set_flood_limits(global_per_second=None, per_chat_per_second=None, per_group_per_minute=3)
    assert raw_call(sb, "sendMessage", chat_id=-100, text="<b>", parse_mode="HTML")[0] == 400
    assert [raw_call(sb, "sendMessage", chat_id=-100, text="x")[0] for _ in range(3)] == [200, 200, 200]
    status, body = raw_call(sb, "sendMessage", chat_id=-100, text="x")
    assert status == 429 and 58 <= body["parameters"]["retry_after"] <= 60
    # Reading and answering buttons do not count.
    assert raw_call(sb, "getChat", chat_id=-100)[0] == 200
    assert raw_call(sb, "getUpdates")[0] == 200


def test_scale_and_switching_limits_off(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.set_flood_limits(per_chat_per_second=1, scale=100)
    assert all(raw_call(sb, "sendMessage", chat_id=1, text="x")[0] == 200 for _ in range(50))
    sb.set_flood_limits(None, None, None)
    assert all(raw_call(sb, "sendMessage", chat_id=1, text="x")[0] == 200 for _ in range(5))
    with pytest.raises(ValueError, match="at least one"):
        sb.set_flood_limits(per_chat_per_second=0.5)


def test_blocked_user_gives_forbidden(sb: Sandbox) -> None:
    person = sb.user(1, "A")
    sb.block(1)

    async def send(bot: Bot) -> None:
        await bot.send_message(1, "hoi")

    with pytest.raises(Forbidden, match="blocked by the user"):
        with_bot(sb, send)
    statuses = [u["my_chat_member"]["new_chat_member"]["status"] for u in sb.pending_updates()]
    assert statuses == ["kicked"]
    person.send("ik ben terug")  # writing again unblocks, as in the apps
    assert raw_call(sb, "sendMessage", chat_id=1, text="welkom terug")[0] == 200
    assert [u.get("my_chat_member", {}).get("new_chat_member", {}).get("status") for u in sb.pending_updates()][1] == (
        "member"
    )


def test_migration_gives_chat_migrated_with_the_new_id(sb: Sandbox) -> None:
    member = sb.user(1, "A")
    group = sb.group(-4242, "Oude groep", forum=False, supergroup=False)
    group.send(member, "/start")
    new_id = group.migrate_to_supergroup()
    assert group.chat_id == new_id and group.old_chat_id == -4242

    async def send(bot: Bot) -> int:
        try:
            await bot.send_message(-4242, "hoi")
        except ChatMigrated as error:
            await bot.send_message(error.new_chat_id, "hoi")
            return int(error.new_chat_id)
        raise AssertionError("no ChatMigrated")

    assert with_bot(sb, send) == new_id
    notices = [u["message"] for u in sb.pending_updates()[1:]]
    assert notices[0]["migrate_to_chat_id"] == new_id and notices[0]["chat"]["id"] == -4242
    assert notices[1]["migrate_from_chat_id"] == -4242 and notices[1]["chat"]["type"] == "supergroup"
    assert [m.text for m in group.messages] == ["hoi"]
    assert not sb.refusals


def _send_outcomes(sandbox: Sandbox, count: int) -> list[str]:
    async def main() -> list[str]:
        outcomes = []
        async with make_bot(sandbox) as bot:
            for _ in range(count):
                try:
                    await bot.send_message(1, "hoi")
                    outcomes.append("ok")
                except TimedOut:
                    outcomes.append("timeout")
                except NetworkError as error:
                    outcomes.append(
                        "502"
                        if "Bad Gateway" in str(error)
                        else "500"
                        if "Internal Server Error" in str(error)
                        else "dropped"
                    )
        return outcomes

    return asyncio.run(main())


def test_faults_are_deterministic_for_a_seed() -> None:
    runs = []
    for _ in range(2):
        with Sandbox(TOKEN) as sandbox:
            sandbox.user(1, "A")
            sandbox.set_faults(server_error_rate=0.3, drop_rate=0.2, seed=7)
            runs.append(_send_outcomes(sandbox, 20))
            stats = sandbox.stats
            # getMe (PTB's initialize) is never faulted, so the bot starts.
            assert stats.by_method_status["getMe", 200] == 1
            assert sum(stats.faults.values()) == runs[-1].count("500") + runs[-1].count("502") + runs[-1].count(
                "dropped"
            )
    assert runs[0] == runs[1]
    assert {"ok", "500", "502", "dropped"} <= set(runs[0])


def test_a_lost_response_still_delivers_the_message(sb: Sandbox) -> None:
    person = sb.user(1, "A")
    sb.set_faults(lost_response_rate=1.0)
    assert _send_outcomes(sb, 1) == ["dropped"]
    assert [m.text for m in person.messages] == ["hoi"]
    sb.set_faults()
    assert _send_outcomes(sb, 1) == ["ok"]


def test_faults_spare_get_updates_unless_asked(sb: Sandbox) -> None:
    url = f"{sb.base_url}{sb.token}/getUpdates"
    sb.set_faults(server_error_rate=1.0)
    assert HTTP.post(url).status_code == 200
    sb.set_faults(server_error_rate=1.0, include_get_updates=True)
    assert HTTP.post(url).status_code in (500, 502)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_fail_next_fails_exactly_the_next_calls_to_one_chat(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.user(2, "B")
    sb.fail_next(1, 500)
    sb.fail_next(1, 429, retry_after=7)
    sb.fail_next(2, 502, method="copyMessage")
    assert sb.fail_next_pending() == 3

    async def calls(bot: Bot) -> list[object]:
        outcomes: list[object] = []
        for chat in (2, 1, 1, 1):
            try:
                await bot.send_message(chat, "hoi")
                outcomes.append("sent")
            except (NetworkError, RetryAfter) as error:
                outcomes.append(error)
        return outcomes

    other_chat, first, second, third = with_bot(sb, calls)
    assert other_chat == "sent", "another chat, and another method's fault, are not touched"
    assert isinstance(first, NetworkError) and not isinstance(first, RetryAfter)
    assert isinstance(second, RetryAfter) and waited(second) == 7
    assert third == "sent", "one shot each: the third call goes through"
    assert [m.text for m in sb.delivered(1)] == ["hoi"], "a failed call does nothing"
    assert sb.fail_next_pending() == 1
    assert sb.stats.by_method_status["sendMessage", 500] == 1
    with pytest.raises(ValueError):
        sb.fail_next(1, 403)


def test_fail_next_count_and_shape(sb: Sandbox) -> None:
    sb.user(1, "A")
    sb.fail_next(1, 502, count=2)
    assert raw_call(sb, "sendMessage", chat_id=1, text="a") == (
        502,
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
    )
    assert raw_call(sb, "sendMessage", chat_id=1, text="b")[0] == 502
    assert raw_call(sb, "sendMessage", chat_id=1, text="c")[0] == 200
