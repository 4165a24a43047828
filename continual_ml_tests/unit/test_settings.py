"""Every environment variable is read through `Settings`, and each one it reads is documented."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

import continual_ml
from continual_ml.settings import Settings

PACKAGE = Path(continual_ml.__file__).parent
ROOT = PACKAGE.parent
READS = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)")
OUR_NAME = re.compile(r"\bCONTINUAL_ML_[A-Z0-9_]+\b")
# Markers `ServiceProcess` and `up` put in their children's environment to find them (and end
# them), not settings.
NOT_SETTINGS = {"CONTINUAL_ML_SERVICE_ID", "CONTINUAL_ML_UP_ID"}


def sources() -> list[Path]:
    return [*PACKAGE.rglob("*.py"), ROOT / "bento" / "service.py"]


def test_only_settings_reads_the_environment():
    readers = [
        str(p.relative_to(ROOT))
        for p in sources()
        if p.name != "settings.py" and READS.search(p.read_text())
    ]
    assert readers == []


def test_every_variable_named_in_the_code_is_a_setting_and_documented():
    """The docs' configuration reference is generated from the fields and their descriptions."""
    aliases = {field.alias for field in Settings.model_fields.values()}
    named = {n for p in sources() for n in OUR_NAME.findall(p.read_text())} - NOT_SETTINGS
    assert named <= aliases, named - aliases
    undescribed = [f.alias for f in Settings.model_fields.values() if not f.description]
    assert undescribed == []


def test_values_are_typed_and_secrets_hidden():
    settings = Settings.from_env(
        {
            "CONTINUAL_ML_HOME": "/tmp/x",
            "CONTINUAL_ML_SLACK_WEBHOOK_URL": "https://hooks.example/T000/hunter2",
            "CONTINUAL_ML_DUCKLAKE_CATALOG": "host=db dbname=lake user=u password=hunter2",
            "CONTINUAL_ML_S3_SECRET_ACCESS_KEY": "hunter2",
            "CONTINUAL_ML_PER_REQUEST_TELEMETRY": "1",
            "UNRELATED": "ignored",
        }
    )
    assert settings.home == Path("/tmp/x") and settings.per_request_telemetry is True
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
    assert Settings.secret(settings.slack_webhook_url).endswith("/hunter2")
    assert Settings.secret(settings.ducklake_catalog).endswith("password=hunter2")
    with pytest.raises(ValidationError, match="CONTINUAL_ML_MAX_ROWS"):
        Settings.from_env({"CONTINUAL_ML_MAX_ROWS": "many"})
