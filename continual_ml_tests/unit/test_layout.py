"""The package layout keeps its rules: domain packages, Dagster only in the wiring and the app,
the demo and the commands out of production code, the service shipping serving alone."""

import ast
from pathlib import Path

import continual_ml

PACKAGE = Path(continual_ml.__file__).parent
ROOT = PACKAGE.parent
DOMAINS = {
    "warehouse",
    "ingestion",
    "models",
    "training",
    "monitoring",
    "decisions",
    "serving",
    "alerts",
}
# Plain code that may import Dagster: the wiring, the code location, the commands and the demo's
# driver (which runs the loop's jobs in its own process).
MAY_IMPORT_DAGSTER = {"defs", "app", "definitions.py", "demo/driver.py"}
TOP_LEVEL_MODULES = {"__init__.py", "config.py", "paths.py", "settings.py", "definitions.py"}
MAX_LINES = 300


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def top(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0]


def test_the_package_is_domain_folders():
    flat = {p.name for p in PACKAGE.glob("*.py")}
    assert flat == TOP_LEVEL_MODULES
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert DOMAINS | {"app", "demo", "defs"} == folders


def test_dagster_is_imported_only_by_the_wiring_and_the_app():
    offenders = [
        str(p.relative_to(ROOT))
        for p in modules()
        if top(p) not in MAY_IMPORT_DAGSTER
        and p.relative_to(PACKAGE).as_posix() not in MAY_IMPORT_DAGSTER
        and any(n == "dagster" or n.startswith(("dagster.", "dagster_")) for n in imported(p))
    ]
    assert offenders == []


def test_production_code_never_imports_the_demo_or_the_commands():
    offenders = [
        str(p.relative_to(ROOT))
        for p in modules()
        if top(p) in DOMAINS | {"defs", "config.py", "definitions.py"}
        and any(n.startswith(("continual_ml.demo", "continual_ml.app")) for n in imported(p))
    ]
    assert offenders == []


def test_the_service_imports_serving_models_config_and_settings_only():
    ours = {n for n in imported(ROOT / "bento" / "service.py") if n.startswith("continual_ml")}
    assert ours
    allowed = (
        "continual_ml.serving.",
        "continual_ml.models.",
        "continual_ml.config",
        "continual_ml.settings",
        "continual_ml.alerts.",  # its `model_serving` alert; alerts import settings only
    )
    assert all(n.startswith(allowed) for n in ours), ours


def test_alerts_import_nothing_of_ours_but_settings():
    """The service sends through them: no warehouse, no Dagster, no model code comes along."""
    imports = {
        n
        for p in (PACKAGE / "alerts").glob("*.py")
        for n in imported(p)
        if n.startswith("continual_ml") or n.startswith("dagster")
    }
    allowed = ("continual_ml.alerts", "continual_ml.settings")
    assert imports and all(n.startswith(allowed) for n in imports), imports


def test_no_module_is_long():
    long = {
        str(p.relative_to(ROOT)): n
        for p in [*modules(), ROOT / "bento" / "service.py"]
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
