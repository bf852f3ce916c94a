"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

from proxy.engine.breaker import CLOSED, HALF_OPEN, OPEN, Breaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def opened(clock: Clock, failures: int = 3, cooldown: float = 10.0) -> Breaker:
    breaker = Breaker(failures, cooldown, clock)
    for _ in range(failures):
        assert breaker.admit() is None
        breaker.observe(503)
    assert breaker.state == OPEN
    return breaker


def test_consecutive_failures_open_it_and_a_success_resets_the_count() -> None:
    breaker = Breaker(3, 10.0, Clock())
    for status in (503, 502, 200, 500, 504):
        assert breaker.admit() is None
        breaker.observe(status)
    assert breaker.state == CLOSED and breaker.streak == 2
    breaker.failed()  # a transport failure counts the same
    assert breaker.state == OPEN and breaker.opened == 1


def test_open_refuses_with_the_seconds_left_then_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = opened(clock)
    assert breaker.admit() == 10
    clock.now += 7.5
    assert breaker.admit() == 3
    clock.now += 2.5
    assert breaker.admit() is None  # the probe
    assert breaker.state == HALF_OPEN
    assert breaker.admit() == 1  # others wait for it
    breaker.observe(200)
    assert breaker.state == CLOSED and breaker.admit() is None
    assert breaker.refused == 3


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = Clock()
    breaker = opened(clock)
    clock.now += 10
    assert breaker.admit() is None
    breaker.failed()
    assert breaker.state == OPEN and breaker.opened == 2 and breaker.admit() == 10


def test_an_abandoned_probe_hands_its_place_to_the_next_request() -> None:
    clock = Clock()
    breaker = opened(clock)
    clock.now += 10
    assert breaker.admit() is None
    breaker.abandoned()  # the client went away, or the proxy never sent it
    assert breaker.state == HALF_OPEN and breaker.admit() is None


def test_client_errors_and_rate_limits_are_an_upstream_that_answers() -> None:
    breaker = Breaker(2, 10.0, Clock())
    for status in (400, 401, 404, 429, 429, 409):
        breaker.observe(status)
        breaker.observe(503)
    assert breaker.state == CLOSED


def test_zero_failures_turns_it_off() -> None:
    breaker = Breaker(0, 10.0, Clock())
    for _ in range(50):
        assert breaker.admit() is None
        breaker.failed()
    assert breaker.state == CLOSED and breaker.opened == 0
