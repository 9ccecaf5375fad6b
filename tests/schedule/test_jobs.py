"""The job book with an injected clock (no sleeps): non-overlap and coalescing, back-off by error
class, a failing job never escaping, stopping, and forgiving after a reload."""

from __future__ import annotations

import datetime
import threading

import pytest

from imagebot.backoff import Backoff
from imagebot.errors import PermanentError, PushRejected, TemporaryError
from imagebot.schedule import JobBook

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def book(clock: Clock, **kwargs: object) -> JobBook:
    exact_temporary = Backoff(attempts=100, base=10, cap=80, jitter=False)
    exact_permanent = Backoff(attempts=100, base=300, cap=3600, jitter=False)
    return JobBook(clock=clock, temporary=exact_temporary, permanent=exact_permanent, **kwargs)  # type: ignore[arg-type]


def test_a_successful_job_runs_every_time_it_is_asked(clock: Clock) -> None:
    jobs = book(clock)
    ran: list[int] = []

    assert jobs.run("scan:a", lambda: ran.append(1)) == "ok"
    assert jobs.run("scan:a", lambda: ran.append(2)) == "ok"

    assert ran == [1, 2]
    assert jobs.state("scan:a").last_success == T0


def test_temporary_failures_back_off_exponentially_then_recover(clock: Clock) -> None:
    jobs = book(clock)
    calls: list[str] = []

    def failing() -> None:
        calls.append("try")
        raise PushRejected("lost a race", delay=0)

    assert jobs.run("automation:a", failing) == "failed"
    assert jobs.state("automation:a").not_before == T0 + datetime.timedelta(seconds=10)
    clock.advance(9)
    assert jobs.run("automation:a", failing) == "backing-off"
    assert calls == ["try"]
    clock.advance(1)
    assert jobs.run("automation:a", failing) == "failed"
    assert jobs.state("automation:a").not_before == clock.now + datetime.timedelta(seconds=20)
    clock.advance(20)
    assert jobs.run("automation:a", lambda: None) == "ok"
    state = jobs.state("automation:a")
    assert (state.failures, state.not_before, state.last_error) == (0, None, None)


def test_a_temporary_error_s_own_delay_is_honoured_up_to_the_cap(clock: Clock) -> None:
    jobs = book(clock)

    def rate_limited() -> None:
        raise TemporaryError("429", delay=45)

    jobs.run("scan:a", rate_limited)
    assert jobs.state("scan:a").not_before == T0 + datetime.timedelta(seconds=45)

    def very_limited() -> None:
        raise TemporaryError("429", delay=10_000)

    jobs.run("scan:b", very_limited)
    assert jobs.state("scan:b").not_before == T0 + datetime.timedelta(seconds=80)


@pytest.mark.parametrize("error", [
    pytest.param(PermanentError("credentials refused"), id="permanent"),
    pytest.param(RuntimeError("a bug"), id="unexpected"),
])
def test_errors_that_need_a_human_back_off_slowly_and_never_escape(clock: Clock, error: Exception) -> None:
    jobs = book(clock)

    def failing() -> None:
        raise error

    assert jobs.run("scan:a", failing) == "failed"
    assert jobs.state("scan:a").not_before == T0 + datetime.timedelta(seconds=300)
    assert jobs.state("scan:a").last_error == str(error)


def test_a_webhook_forces_a_run_through_the_back_off(clock: Clock) -> None:
    jobs = book(clock)
    jobs.run("scan:a", lambda: (_ for _ in ()).throw(PermanentError("x")))

    assert jobs.run("scan:a", lambda: None) == "backing-off"
    assert jobs.run("scan:a", lambda: None, force=True) == "ok"


def test_a_job_never_overlaps_itself_and_a_burst_while_running_coalesces_into_one_more_run(
    clock: Clock,
) -> None:
    jobs = book(clock)
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            started.set()
            assert release.wait(10)

    first: list[str] = []
    worker = threading.Thread(target=lambda: first.append(jobs.run("scan:a", slow)))
    worker.start()
    assert started.wait(10)

    burst = [jobs.run("scan:a", slow) for _ in range(5)]
    assert jobs.run("scan:b", lambda: None) == "ok"  # other jobs are not held up
    release.set()
    worker.join(10)

    assert burst == ["busy"] * 5
    assert first == ["ok"]
    assert runs == [0, 1]  # the running one, then exactly one more for the whole burst
    assert not jobs.state("scan:a").running


def test_stop_takes_no_new_jobs_and_waits_for_running_ones(clock: Clock) -> None:
    jobs = book(clock)
    started, release = threading.Event(), threading.Event()

    def slow() -> None:
        started.set()
        assert release.wait(10)

    worker = threading.Thread(target=jobs.run, args=("automation:a", slow))
    worker.start()
    assert started.wait(10)

    jobs.stop()
    assert jobs.run("scan:b", lambda: None) == "stopping"
    assert jobs.running() == ["automation:a"]
    assert jobs.wait_idle(0.01) is False
    release.set()
    assert jobs.wait_idle(10) is True
    worker.join(10)


def test_forgive_clears_the_back_off(clock: Clock) -> None:
    jobs = book(clock)
    jobs.run("scan:a", lambda: (_ for _ in ()).throw(PermanentError("x")))

    jobs.forgive()

    assert jobs.run("scan:a", lambda: None) == "ok"


def test_on_finish_hears_every_run_with_its_outcome(clock: Clock) -> None:
    heard: list[tuple[str, str]] = []
    jobs = book(clock, on_finish=lambda job, outcome, seconds, error: heard.append((job, outcome)))

    jobs.run("scan:a", lambda: None)
    jobs.run("scan:b", lambda: (_ for _ in ()).throw(PermanentError("x")))

    assert heard == [("scan:a", "ok"), ("scan:b", "failed")]
