"""BentoML's model store at a given folder still behaves as the model store relies on it."""

from pathlib import Path

from continual_ml.models import bentoml_store


def test_a_model_store_at_a_folder_creates_lists_gets_and_deletes(tmp_path):
    home = tmp_path / "bentoml"
    with bentoml_store.create_model(home, "canary:v1", {"a": "1"}, {"n": 1}) as model:
        Path(model.path, "weights.bin").write_bytes(b"\x00")
    store = bentoml_store.model_store(home)
    [listed] = store.list("canary")
    assert str(listed.tag) == "canary:v1" and listed.info.metadata == {"n": 1}
    stored = Path(store.get("canary:v1").path)
    assert (stored / "weights.bin").read_bytes() == b"\x00"
    assert stored.is_relative_to(home / "models")  # the given home, not the default store
    store.delete("canary:v1")
    assert not stored.exists()
