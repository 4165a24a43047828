import re
from datetime import datetime

from continual_ml.app.cli import up


def test_each_line_of_ups_log_says_when_it_was_written(capsys):
    before = datetime.now().astimezone().replace(microsecond=0)
    up._said_at("supervisor: daemon restarted")
    [line] = capsys.readouterr().out.splitlines()
    stamp, text = re.fullmatch(r"(\S+ \S+) (.*)", line).groups()
    assert text == "supervisor: daemon restarted"
    written = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S%z")
    assert 0 <= (written - before).total_seconds() < 60
