"""Configuration from the environment (and an optional `.env` file)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import default_database_url


class Settings(BaseSettings):
    """Every setting the bot reads. `docs/operations.md` lists them with these descriptions."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: SecretStr | None = Field(
        default=None, description="Bot token from @BotFather. Without it `python -m bot` starts the demo."
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL; the token and method are appended.",
    )
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: a SQLite file by default, or postgresql+psycopg://user@host/db.",
    )
    demo_database_url: str | None = Field(
        default=None,
        description="The demo's database, kept across restarts (never DATABASE_URL); unset: a fresh temporary one.",
    )
    bot_admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Telegram user ids that are coordinators with admin rights.",
    )
    timezone: str = Field(default="Europe/Amsterdam", description="Default time zone for local times.")
    coordinator_group_id: int | None = Field(
        default=None, description="Chat id of the coordinators' group (can also be set with /setgroup)."
    )
    webhook_url: str | None = Field(
        default=None, description="Public HTTPS URL for webhook mode; long polling when unset."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token."
    )
    webhook_listen: str = Field(default="0.0.0.0", description="Address the webhook server binds.")  # noqa: S104
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "When set, /metrics answers only requests with `Authorization: Bearer <token>` (open when unset); "
            "/healthz stays open and shows no personal data."
        ),
    )
    webhook_port: int = Field(default=8080, description="Port the webhook server binds.")
    http_port: int | None = Field(
        default=None, description="In polling mode, serve /healthz and /metrics on this port (off when unset)."
    )
    run_inbox_worker: bool = Field(default=True, description="Handle stored updates in this instance.")
    run_sender: bool = Field(default=True, description="Take part in sending the outbox (one instance at a time).")
    tick_seconds: float = Field(default=5.0, gt=0, description="How often due work is looked for.")
    poll_timeout: int = Field(default=25, ge=0, description="Long-polling timeout in seconds.")
    sender_global_per_second: float = Field(
        default=30.0, gt=0, description="Messages per second to all chats together."
    )
    sender_per_chat_per_second: float = Field(default=1.0, gt=0, description="Messages per second to one private chat.")
    sender_per_group_per_minute: float = Field(default=20.0, gt=0, description="Messages per minute to one group.")
    sender_margin_seconds: float = Field(
        default=0.01,
        ge=0,
        description="Extra spacing on every window; each message already waits for the answer to the one it follows.",
    )
    sender_max_in_flight: int = Field(default=8, ge=1, description="Messages sent at the same time.")
    relay_burst: int = Field(
        default=10, ge=1, description="Messages one person may have relayed to coordinators at once, before pacing."
    )
    relay_every_seconds: float = Field(
        default=10.0, gt=0, description="After the burst, one relayed message per this many seconds (none is lost)."
    )
    relay_ack_gap_seconds: float = Field(
        default=120.0,
        ge=0,
        description="Messages closer together than this are one run: the family is told 'passed on' once.",
    )
    invite_valid_hours: int = Field(default=72, gt=0, description="How long an invite link works.")
    consent_version: str = Field(default="2026-11", description="Version of the privacy notice.")
    # Check-ins (waakvlam) and concerns; see docs/coordinators.md.
    checkin_default_rhythm: str = Field(
        default="biweekly",
        pattern="^(weekly|biweekly|monthly|off)$",
        description="Check-in rhythm of a new family: weekly, biweekly, monthly or off.",
    )
    checkin_default_weekday: int = Field(
        default=1, ge=0, le=6, description="Weekday of a new family's check-in (0 = Monday)."
    )
    checkin_default_daypart: str = Field(
        default="morning",
        pattern="^(morning|afternoon|evening)$",
        description="Part of the day of a new family's check-in: morning, afternoon or evening.",
    )
    quiet_hours_start: time = Field(
        default=time(21, 0), description="Start of the quiet hours (local time): no check-ins or reminders."
    )
    quiet_hours_end: time = Field(default=time(8, 0), description="End of the quiet hours (local time).")
    checkin_reminder_hours: float = Field(
        default=24.0, gt=0, description="Hours after an unanswered check-in before one gentle reminder."
    )
    checkin_answer_hours: float = Field(
        default=72.0, gt=0, description="Hours after which an unanswered check-in counts as missed."
    )
    checkin_missed_threshold: int = Field(
        default=2, ge=1, description="Missed check-ins in a row before the coordinator hears 'no contact'."
    )
    checkin_step_down_after: int = Field(
        default=3, ge=1, description="'Good' answers in a row before a lower rhythm is offered (or set)."
    )
    office_days: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4],
        description="Coordinators' office days, comma-separated (0 = Monday); default Monday to Friday.",
    )
    office_start: time = Field(default=time(8, 30), description="Office hours start (local time).")
    office_end: time = Field(default=time(17, 0), description="Office hours end (local time).")
    escalation_wait_office_minutes: float = Field(
        default=30.0,
        gt=0,
        description="Minutes a concern waits for acknowledgement in office hours before it moves on.",
    )
    escalation_wait_outside_minutes: float = Field(
        default=120.0, gt=0, description="Minutes it waits outside office hours (only without a morning rule)."
    )
    escalation_morning_rule: time | None = Field(
        default=time(9, 0),
        description="Outside office hours the next escalation step waits until this time on the next office "
        "day; empty for teams with an evening rota (then the outside wait applies).",
    )
    # Help requests and volunteers; see docs/help-requests.md.
    request_support_wait_hours: float = Field(
        default=4.0, ge=0, description="Hours the family's own support volunteer has alone before others are asked."
    )
    request_wave_size: int = Field(default=5, ge=1, description="Volunteers asked at once in each round.")
    request_wave_interval_hours: float = Field(
        default=6.0, gt=0, description="Hours before the next round of volunteers is asked, while nobody accepted."
    )
    request_unmatched_wait_hours: float = Field(
        default=24.0, gt=0, description="Hours without an accept before the family's coordinator is told."
    )
    request_unmatched_lead_hours: float = Field(
        default=12.0, ge=0, description="The coordinator is also told when this close to the start nobody accepted."
    )
    request_reminder_at: time = Field(
        default=time(18, 0), description="Local time of the reminder on the day before a task."
    )
    request_short_notice_hours: float = Field(
        default=2.0, gt=0, description="Hours before the start of a task accepted too late for the day-before reminder."
    )
    request_followup_hours: float = Field(
        default=2.0, ge=0, description="Hours after a task ends before both sides are asked whether it happened."
    )
    request_retention_days: int = Field(
        default=90, ge=1, description="Days after a request closes before its free text (note, destination) is deleted."
    )
    # Retention; see docs/delivery.md and the privacy notice (/privacy).
    retention_handled_updates_days: int = Field(
        default=30, ge=1, description="Days a handled update's row (no contents) is kept before it is deleted."
    )
    retention_sent_messages_days: int = Field(
        default=30, ge=1, description="Days a sent message is kept in the outbox before it is deleted."
    )
    retention_poison_days: int = Field(
        default=14,
        ge=1,
        description="Days a poison or failed update (with what was written) and a failed message are kept.",
    )
    retention_finished_jobs_days: int = Field(
        default=30, ge=1, description="Days a finished or cancelled scheduled job is kept."
    )
    retention_dialogue_days: int = Field(
        default=30, ge=1, description="Days an abandoned, unfinished dialogue (a draft) is kept."
    )
    retention_invites_days: int = Field(
        default=30, ge=1, description="Days an invite link is kept after it expired or was used."
    )
    vog_valid_years: int = Field(
        default=3, ge=1, description="Years a VOG (certificate of conduct) counts for tasks with children."
    )
    vog_warn_days: int = Field(
        default=30, ge=0, description="Days before a VOG stops counting that volunteer and coordinator are reminded."
    )
    volunteer_weekly_cap: int = Field(
        default=3, ge=0, description="Requests a newly approved volunteer is offered per week at most (changeable)."
    )
    # Coordinator insight; see docs/coordinators.md.
    insight_digest_enabled: bool = Field(
        default=True, description="Send every coordinator a weekly picture on Monday morning."
    )
    insight_digest_at: time = Field(default=time(8, 0), description="Local time of the Monday digest.")
    insight_digest_weeks: int = Field(default=8, ge=1, le=26, description="Weeks shown in the digest's chart.")
    insight_min_count: int = Field(
        default=5,
        ge=2,
        description="Anonymous figures show counts from 1 up to this number minus one as '<N' (default: 1 to 4 "
        "as '<5'), and leave out medians, shares and sums based on fewer cases.",
    )
    waiting_digest_days: int = Field(
        default=42, gt=0, description="Families waiting longer than this many days are named in the weekly digest."
    )
    # The coordinators' workspace (a Telegram Mini App served by the web server); see docs/coordinators.md.
    workspace_enabled: bool = Field(
        default=False, description="Serve the coordinators' workspace and show '🗂 Workspace' in their /menu."
    )
    workspace_url: str | None = Field(
        default=None,
        description="Public HTTPS address of the workspace as Telegram opens it (the web server's /workspace/ "
        "behind the reverse proxy), e.g. https://bot.example.org/workspace/.",
    )
    workspace_init_max_age_seconds: int = Field(
        default=300, ge=10, description="How old a Mini App's signed initData may be when the workspace opens."
    )
    workspace_session_minutes: int = Field(
        default=30, ge=1, description="How long a workspace session lasts once the initData was checked."
    )
    log_level: str = Field(default="INFO", description="Logging level.")
    instance_id: str | None = Field(
        default=None,
        description="Name of this instance in logs and leases (default: host name and process id). Two running "
        "processes must never share one: a process that starts under a name ends the claims of that name at once.",
    )
    instance_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often an instance records that it is alive."
    )
    instance_dead_after_seconds: float = Field(
        default=30.0,
        gt=0,
        description="An instance that has not recorded that it is alive for this long is dead: its claims on "
        "updates and messages end at once (on the same host, a process that is gone is dead at once).",
    )
    inbox_lanes: int = Field(
        default=4,
        ge=1,
        le=32,
        description="How many updates this instance handles side by side. Updates of different chats go in "
        "parallel while each chat keeps its order, so one slow answer from Telegram does not hold up everyone.",
    )
    inbox_max_attempts: int = Field(
        default=3,
        ge=1,
        description="How often an update whose handler failed is tried; after that the person and a coordinator "
        "are told.",
    )
    inbox_retry_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Wait before a failed update is tried again; each further try waits four times longer.",
    )

    @field_validator("bot_admin_ids", "office_days", mode="before")
    @classmethod
    def _split_numbers(cls, value: Any) -> Any:
        """Telegram ids or weekdays from a comma-separated setting."""
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("escalation_morning_rule", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty setting means 'not set'."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """Refuse a time zone zoneinfo does not know."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def token(self) -> str | None:
        """The bot token as text (never logged)."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    def secrets(self) -> list[str]:
        """Every secret the logs must never show: the bot token, the webhook secret, the metrics token."""
        values = (self.telegram_bot_token, self.webhook_secret, self.metrics_token)
        return [value.get_secret_value() for value in values if value is not None]
