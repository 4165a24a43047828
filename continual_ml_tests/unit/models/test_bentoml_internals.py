"""The BentoML internals continual-ml relies on still behave as it relies on them."""

import importlib
from pathlib import Path

import pytest

from continual_ml.models import bentoml_internals


def test_a_model_store_at_a_folder_creates_lists_gets_and_deletes(tmp_path):
    home = tmp_path / "bentoml"
    with bentoml_internals.create_model(home, "canary:v1", {"a": "1"}, {"n": 1}) as model:
        Path(model.path, "weights.bin").write_bytes(b"\x00")
    store = bentoml_internals.model_store(home)
    [listed] = store.list("canary")
    assert str(listed.tag) == "canary:v1" and listed.info.metadata == {"n": 1}
    stored = Path(store.get("canary:v1").path)
    assert (stored / "weights.bin").read_bytes() == b"\x00"
    assert stored.is_relative_to(home / "models")  # the given home, not the default store
    store.delete("canary:v1")
    assert not stored.exists()


# Each middleware BentoML's server builds from a module-level name at start-up, that name.
REPLACEABLE_MIDDLEWARES = {
    "traffic metrics": (
        bentoml_internals.traffic_metrics_middleware,
        bentoml_internals.replace_traffic_metrics_middleware,
        "bentoml._internal.server.http.instruments",
        "RunnerTrafficMetricsMiddleware",
    ),
    "timeout": (
        bentoml_internals.timeout_middleware,
        bentoml_internals.replace_timeout_middleware,
        "bentoml._internal.server.http.traffic",
        "TimeoutMiddleware",
    ),
}


@pytest.mark.parametrize("middleware", REPLACEABLE_MIDDLEWARES)
def test_a_middleware_can_be_replaced_by_a_subclass(middleware):
    get, replace, module, name = REPLACEABLE_MIDDLEWARES[middleware]
    original = get()
    assert isinstance(original, type) and "__call__" in vars(original)

    class Subclass(original):
        pass

    try:
        replace(Subclass)
        assert getattr(importlib.import_module(module), name) is Subclass
    finally:
        replace(original)


def test_api_methods_bind_once_onto_the_instance():
    import bentoml

    @bentoml.service
    class Echo:
        @bentoml.api
        def echo(self, text: str) -> str:
            return text

    instance = Echo.inner()
    bentoml_internals.bind_api_methods(instance, Echo)
    assert set(Echo.apis) == {"echo"}
    assert "echo" in vars(instance) and instance.echo("a") == "a"


def test_bentomls_app_factory_builds_its_middlewares_from_those_names():
    import inspect

    from _bentoml_impl.server.app import ServiceAppFactory
    from bentoml._internal.server.base_app import BaseAppFactory

    own = inspect.getsource(ServiceAppFactory.middlewares.fget)
    assert "RunnerTrafficMetricsMiddleware" in own
    assert "from .http.traffic import TimeoutMiddleware" in inspect.getsource(
        BaseAppFactory.middlewares.fget
    )
