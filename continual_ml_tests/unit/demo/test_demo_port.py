"""`continual-ml demo`'s service port: a flag, an environment variable, said in `--help`, and a
busy or invalid port refused before the demo touches its home."""

import socket

import pytest

from continual_ml.app.cli import main
from continual_ml.app.cli.parser import build_parser


def test_help_documents_the_flag_and_the_variable(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["demo", "--help"])
    assert exited.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "--service-port" in shown and "CONTINUAL_ML_DEMO_SERVICE_PORT" in shown


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1"])
def test_a_value_that_is_not_a_port_is_refused(value, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["demo", "--service-port", value])
    assert exited.value.code == 2
    assert "is not a port" in capsys.readouterr().err


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_busy_port_is_refused_before_the_home_is_reset(
    how, busy_port, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".continual_ml_home").write_text("created by continual-ml\n")
    (home / "kept.txt").write_text("a previous demo's state")
    monkeypatch.setenv("CONTINUAL_ML_HOME", str(home))
    args = ["demo", "--days", "1"]
    if how == "flag":
        args += ["--service-port", str(busy_port)]
    else:
        monkeypatch.setenv("CONTINUAL_ML_DEMO_SERVICE_PORT", str(busy_port))
    assert main(args) == 1
    said = capsys.readouterr().err
    assert f"port {busy_port}" in said and "--service-port" in said
    assert (home / "kept.txt").read_text() == "a previous demo's state"  # nothing lost
