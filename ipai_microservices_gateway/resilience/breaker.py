"""Circuit breaker state machine, as pure functions over a state record.

Semantics follow Resilience4j and Kong (see the module README):
- closed: calls pass. It trips to open on ``failure_threshold`` consecutive
  failures, or, once ``minimum_calls`` calls were seen in the current window of
  ``window_seconds``, when the failure rate or the slow-call rate reaches its
  threshold (percent; 0 disables that rule);
- open: calls fail at once until ``open_until``;
- half-open: after ``open_until`` exactly one caller may claim the trial call
  (the claim is an atomic UPDATE in PostgreSQL, done by the model); its success
  closes the breaker, its failure opens it again. A trial that never reported
  back is considered lost after ``trial_timeout`` seconds and may be claimed again.
Live traffic may only open the breaker; a successful scheduled health probe may
close it (``on_probe_success``).

Successes are not written one by one: the model buffers them per process and
flushes them with the next write (a failure, a slow call, a state change) or
after ``flush_seconds``, so a healthy breaker costs no database write per call.
"""

from dataclasses import dataclass, replace

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    failure_rate_threshold: float = 50.0
    slow_call_rate_threshold: float = 0.0
    slow_call_ms: int = 5000
    window_seconds: int = 60
    minimum_calls: int = 10
    open_seconds: float = 30.0
    trial_timeout: float = 120.0

    def __post_init__(self):
        if self.failure_threshold < 1 or self.minimum_calls < 1 or self.window_seconds < 1:
            raise ValueError("breaker thresholds and window must be at least 1")
        if self.open_seconds <= 0:
            raise ValueError("the open duration must be positive")


@dataclass(frozen=True)
class BreakerState:
    state: str = CLOSED
    since: float = 0.0
    open_until: float = 0.0
    trial_started: float = 0.0
    consecutive_failures: int = 0
    window_start: float = 0.0
    window_calls: int = 0
    window_failures: int = 0
    window_slow: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class Admission:
    allowed: bool
    needs_trial: bool = False
    retry_in: float = 0.0


def admit(state, policy, now):
    """May a call go out now? ``needs_trial``: claim the half-open trial first."""
    if state.state == CLOSED:
        return Admission(True)
    if state.state == OPEN:
        if now < state.open_until:
            return Admission(False, retry_in=state.open_until - now)
        return Admission(False, needs_trial=True)
    # half-open: one trial is out; another caller waits unless it was lost.
    if now - state.trial_started >= policy.trial_timeout:
        return Admission(False, needs_trial=True)
    return Admission(False, retry_in=max(1.0, policy.trial_timeout - (now - state.trial_started)))


def _roll(state, policy, now):
    if now - state.window_start >= policy.window_seconds:
        return replace(state, window_start=now, window_calls=0, window_failures=0, window_slow=0)
    return state


def _open(state, policy, now, error):
    return replace(
        state,
        state=OPEN,
        since=now,
        open_until=now + policy.open_seconds,
        trial_started=0.0,
        last_error=error or state.last_error,
    )


def _close(state, now):
    return BreakerState(state=CLOSED, since=now, window_start=now, last_error=state.last_error)


def should_trip(state, policy):
    if state.consecutive_failures >= policy.failure_threshold:
        return True
    if state.window_calls < policy.minimum_calls:
        return False
    failure_rate = 100.0 * state.window_failures / state.window_calls
    slow_rate = 100.0 * state.window_slow / state.window_calls
    return bool(
        (policy.failure_rate_threshold and failure_rate >= policy.failure_rate_threshold)
        or (policy.slow_call_rate_threshold and slow_rate >= policy.slow_call_rate_threshold)
    )


def add_successes(state, policy, count, now):
    """Merge buffered successes (not yet written) into the window."""
    if not count:
        return state
    state = _roll(state, policy, now)
    return replace(state, window_calls=state.window_calls + count, consecutive_failures=0)


def on_result(state, policy, *, success, duration_ms, now, error="", trial=False):
    """The state after one logical call. A 4xx client error counts as success."""
    slow = duration_ms >= policy.slow_call_ms
    if trial or state.state == HALF_OPEN:
        return _close(state, now) if success and not slow else _open(state, policy, now, error)
    if state.state == OPEN:
        # A call admitted before another process opened the breaker: keep it open.
        return state if success else replace(state, last_error=error or state.last_error)
    state = _roll(state, policy, now)
    state = replace(
        state,
        window_calls=state.window_calls + 1,
        window_failures=state.window_failures + (0 if success else 1),
        window_slow=state.window_slow + (1 if slow else 0),
        consecutive_failures=0 if success else state.consecutive_failures + 1,
        last_error=state.last_error if success else (error or state.last_error),
    )
    if should_trip(state, policy):
        return _open(state, policy, now, error)
    return state


def on_probe_success(state, now):
    """A successful scheduled health probe closes an open or half-open breaker."""
    return state if state.state == CLOSED else _close(state, now)


def reset(now):
    return BreakerState(state=CLOSED, since=now, window_start=now)
