from continual_ml.app.supervision.pacing import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_due_at_once_then_once_per_interval():
    clock = Clock()
    pace = Pace(10.0, clock)
    assert pace.due() and not pace.due()
    clock.now += 9.9
    assert not pace.due()
    clock.now += 0.1
    assert pace.due() and not pace.due()


def test_again_in_brings_the_next_time_forward():
    clock = Clock()
    pace = Pace(10.0, clock)
    assert pace.due()
    pace.again_in(2.0)
    clock.now += 2.0
    assert pace.due()
    clock.now += 9.0
    assert not pace.due()  # due again a whole interval after that
