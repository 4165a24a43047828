"""Loading a model refuses types our training never produces, even when the hash matches."""

import hashlib
import io
import json
import os
import zipfile

import pandas as pd
import pytest
import skops.io

from continual_ml.config import default_config
from continual_ml.demo.synthetic_stream import generate_batch, partition_date
from continual_ml.training.pipeline import fit_candidate, load_model, serialize_model


@pytest.fixture(scope="module")
def rows():
    config = default_config()
    return pd.concat(generate_batch(config, partition_date(config, i)) for i in range(2))


@pytest.mark.parametrize(
    "family", ["logistic_regression", "random_forest", "hist_gradient_boosting"]
)
def test_every_family_we_train_loads(config, rows, family):
    chosen = config.model_copy(update={"model": config.model.model_copy(update={"family": family})})
    artifact, sha256 = serialize_model(fit_candidate(chosen, rows))
    assert load_model(artifact, sha256).predict_proba(rows[config.feature_names]).shape[1] == 2


def test_a_file_holding_a_function_from_elsewhere_is_refused_despite_its_hash():
    artifact = skops.io.dumps({"callback": os.getcwd})
    with zipfile.ZipFile(io.BytesIO(artifact)) as archive:
        assert "getcwd" in json.dumps(json.loads(archive.read("schema.json")))
    with pytest.raises(ValueError, match="never produces"):
        load_model(artifact, hashlib.sha256(artifact).hexdigest())
