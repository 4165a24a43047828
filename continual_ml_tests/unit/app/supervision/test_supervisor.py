"""The supervisor's rules, on a clock the test moves: restart with backoff, wait out a slow
start, restart what stops answering, and give up on what keeps crashing."""

import pytest

from continual_ml.app.supervision.supervisor import Component, GaveUp, RestartPolicy, Supervisor


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Process:
    """A stand-in process: alive until `crash()`, answering while `answering`."""

    def __init__(self):
        self.running, self.answering, self.starts = True, True, 1

    def crash(self):
        self.running = False

    def restart(self):
        self.running, self.starts = True, self.starts + 1

    def component(self, name="daemon", health=False):
        healthy = (lambda: self.answering) if health else None
        return Component(name, lambda: self.running, self.restart, healthy)


def supervise(process, health=False, **policy):
    clock, events = Clock(), []
    supervisor = Supervisor(
        [process.component(health=health)],
        lambda event, name, text: events.append((event, name, text)),
        RestartPolicy(**policy),
        clock,
    )
    return supervisor, clock, events


def test_a_crashed_process_is_restarted_after_a_growing_backoff():
    process = Process()
    supervisor, clock, events = supervise(process, backoff_seconds=1, stable_seconds=1000)
    waits = []
    for _ in range(3):
        process.crash()
        supervisor.check()
        started = clock.now
        while not process.running:
            clock.now += 0.5
            supervisor.check()
        waits.append(clock.now - started)
    assert waits == [1.0, 2.0, 4.0]
    assert process.starts == 4
    assert [e[0] for e in events] == ["restarting"] * 3
    assert "exited; restarting in 1 s" in events[0][2]
    assert supervisor.summary()["daemon"]["restarts"] == 3


def test_staying_up_resets_the_backoff():
    process = Process()
    supervisor, clock, events = supervise(process, backoff_seconds=1, stable_seconds=60)
    for _ in range(2):
        process.crash()
        supervisor.check()
        clock.now += 100
        supervisor.check()  # restarts it
        clock.now += 100
        supervisor.check()  # up for 100 s: stable
    assert [e[2].rsplit(" ", 2)[-2] for e in events] == ["1", "1"]


def test_a_slow_start_is_waited_out_but_a_silent_process_is_restarted():
    process = Process()
    process.answering = False
    supervisor, clock, events = supervise(
        process, health=True, startup_seconds=60, health_interval_seconds=5, unhealthy_after=3
    )
    while clock.now < 55:  # starting: not answering yet is no failure
        supervisor.check()
        clock.now += 1
    assert events == []
    process.answering = True
    supervisor.check()
    process.answering = False  # answered once, then went silent (a dead gRPC child)
    for _ in range(3):
        clock.now += 5
        supervisor.check()
    assert events and "health check (3 times in a row)" in events[0][2]
    clock.now += 1
    supervisor.check()
    assert process.starts == 2


def test_a_process_that_keeps_crashing_is_given_up_on():
    process = Process()
    supervisor, clock, events = supervise(process, max_restarts=2, window_seconds=600)
    with pytest.raises(GaveUp, match="daemon exited; restarted 2 times"):
        for _ in range(10):
            process.crash()
            supervisor.check()
            clock.now += 60
            supervisor.check()
    assert process.starts == 3
    assert events[-1][0] == "gave_up"


def test_up_runs_the_code_server_on_dagster_code_server_port_when_set(monkeypatch):
    from continual_ml.app.supervision.live_system import Ports

    monkeypatch.setenv("DAGSTER_CODE_SERVER_PORT", "4123")
    assert Ports().code_server == 4123
    monkeypatch.delenv("DAGSTER_CODE_SERVER_PORT")
    assert Ports().code_server > 1024  # a free one


def test_a_stopped_process_is_restarted_after_a_few_seconds_and_the_reason_says_so():
    process, stopped = Process(), {"now": False}
    clock, events = Clock(), []
    component = process.component()
    component.stopped = lambda: stopped["now"]
    supervisor = Supervisor(
        [component],
        lambda event, name, text: events.append((event, name, text)),
        RestartPolicy(stopped_seconds=5),
        clock,
    )
    supervisor.check()
    stopped["now"] = True  # kill -STOP: the process is still there
    for _ in range(5):
        supervisor.check()
        clock.now += 1
    assert events == []  # a debugger's brief stop is no hang
    stopped["now"] = False
    supervisor.check()  # it ran again: the count starts over
    stopped["now"] = True
    for _ in range(6):
        supervisor.check()
        clock.now += 1
    assert [e[0] for e in events] == ["restarting"]
    assert events[0][2].startswith("stopped (SIGSTOP or a debugger), running none of its code")
    clock.now += 1
    supervisor.check()
    assert process.starts == 2


def test_while_the_disk_is_full_crashes_are_restarted_at_the_longest_backoff_never_given_up():
    process, disk_full = Process(), {"now": True}
    clock, events = Clock(), []
    supervisor = Supervisor(
        [process.component()],
        lambda event, name, text: events.append((event, name, text)),
        RestartPolicy(max_restarts=2, window_seconds=600, max_backoff_seconds=30),
        clock,
        never_give_up=lambda: disk_full["now"],
    )
    for _ in range(5):
        process.crash()
        supervisor.check()
        clock.now += 31
        supervisor.check()
    assert process.starts == 6 and {e[0] for e in events} == {"restarting"}
    assert events[-1][2].endswith("restarting in 30 s")
    disk_full["now"] = False  # room again: the usual limit holds
    process.crash()
    with pytest.raises(GaveUp):
        supervisor.check()
