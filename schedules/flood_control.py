"""Flood control: sliding-window send limits per platform, per group and per private chat.

Each platform prefix ("tg", "wecom") has its own overall window and may have its own limits
(WeCom silently drops app messages beyond 30 a minute to one member; robots take 20 a minute).
Group or private is decided by `is_group_chat`. Times come from `clock.monotonic()`, so tests
run on virtual time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from handlers.actions import is_group_chat
from handlers.clock import Clock

OVERALL_WINDOW_SECONDS = 1.0
GROUP_WINDOW_SECONDS = 60.0


def platform_of(chat_id: str) -> str:
    """The platform prefix of a namespaced chat id ("tg:-100123" → "tg")."""
    prefix, separator, _ = chat_id.partition(":")
    return prefix if separator else ""


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """Messages allowed: per platform per second, per group per minute, per private chat/s."""

    per_second_overall: int = 30
    per_minute_per_group: int = 20
    per_second_per_private: float = 1.0

    def __post_init__(self) -> None:
        if min(self.per_second_overall, self.per_minute_per_group) < 1:
            raise ValueError("flood limits must allow at least one message per window")
        if self.per_second_per_private <= 0:
            raise ValueError("per_second_per_private must be positive")


# WeCom drops, without an error, app messages beyond 30 a minute to one member; group robots
# take 20 a minute. Pacing members at one message every 2 s keeps under the member limit.
WECOM_LIMITS = FloodLimits(
    per_second_overall=30, per_minute_per_group=20, per_second_per_private=0.5
)


class FloodControl:
    """Say how long a chat must wait before its next message, and remember what was sent."""

    def __init__(
        self,
        limits: FloodLimits,
        clock: Clock,
        platform_limits: Mapping[str, FloodLimits] | None = None,
    ) -> None:
        self.limits = limits
        self._platform_limits = dict(platform_limits or {})
        self._clock = clock
        self._overall: dict[str, deque[float]] = {}
        self._groups: dict[str, deque[float]] = {}
        self._private_last: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}

    def wait_time(self, chat_id: str) -> float:
        """Seconds until a message to `chat_id` may go; 0 when it may go now."""
        now = self._clock.monotonic()
        platform = platform_of(chat_id)
        return max(
            0.0,
            self._blocked_until.get(chat_id, now) - now,
            self._paused_until.get(platform, now) - now,
            self._overall_wait(platform, now),
            self._chat_wait(chat_id, now),
        )

    def record(self, chat_id: str) -> None:
        """Count a message sent (or about to be sent) to `chat_id` now."""
        now = self._clock.monotonic()
        self._overall.setdefault(platform_of(chat_id), deque()).append(now)
        if is_group_chat(chat_id):
            self._groups.setdefault(chat_id, deque()).append(now)
        else:
            self._private_last[chat_id] = now

    def block(self, chat_id: str, seconds: float, *, whole_platform: bool = False) -> None:
        """Send nothing to `chat_id` (or, if `whole_platform`, to its platform) for `seconds`."""
        until = self._clock.monotonic() + max(0.0, seconds)
        self._blocked_until[chat_id] = max(until, self._blocked_until.get(chat_id, until))
        if whole_platform:
            self.pause_platform(platform_of(chat_id), seconds)

    def pause_platform(self, platform: str, seconds: float) -> None:
        """Send nothing on `platform` ("tg", "wecom") for `seconds` (a global retry_after)."""
        until = self._clock.monotonic() + max(0.0, seconds)
        self._paused_until[platform] = max(until, self._paused_until.get(platform, until))

    def limits_of(self, chat_id: str) -> FloodLimits:
        """The limits that apply to this chat's platform."""
        return self._platform_limits.get(platform_of(chat_id), self.limits)

    def group_budget_left(self, chat_id: str) -> int:
        """Messages a group may still get in the current minute (private chat: 1 or 0 now)."""
        now = self._clock.monotonic()
        if not is_group_chat(chat_id):
            return 0 if self._chat_wait(chat_id, now) > 0 else 1
        window = _pruned(self._groups, chat_id, now, GROUP_WINDOW_SECONDS)
        return max(0, self.limits_of(chat_id).per_minute_per_group - len(window))

    def _overall_wait(self, platform: str, now: float) -> float:
        window = _pruned(self._overall, platform, now, OVERALL_WINDOW_SECONDS)
        limit = self._platform_limits.get(platform, self.limits).per_second_overall
        return _window_wait(window, limit, OVERALL_WINDOW_SECONDS, now)

    def _chat_wait(self, chat_id: str, now: float) -> float:
        if is_group_chat(chat_id):
            window = _pruned(self._groups, chat_id, now, GROUP_WINDOW_SECONDS)
            limit = self.limits_of(chat_id).per_minute_per_group
            return _window_wait(window, limit, GROUP_WINDOW_SECONDS, now)
        last = self._private_last.get(chat_id)
        if last is None:
            return 0.0
        return max(0.0, last + 1.0 / self.limits_of(chat_id).per_second_per_private - now)


def _pruned(windows: dict[str, deque[float]], key: str, now: float, period: float) -> deque[float]:
    """The send times of `key` within the last `period` seconds (older ones dropped)."""
    window = windows.get(key)
    if window is None:
        return deque()
    while window and window[0] <= now - period:
        window.popleft()
    if not window:
        del windows[key]
    return window


def _window_wait(window: deque[float], limit: int, period: float, now: float) -> float:
    """Seconds until a window holding `window` send times has room for one more."""
    if len(window) < limit:
        return 0.0
    return max(0.0, window[len(window) - limit] + period - now)
