"""Labels for quarantined rows, through `continual-ml ingest` and `status`: counted where a user
looks (the command's summary, the `labels` asset's metadata, `status`), never left waiting."""

import dagster as dg
import pandas as pd

from continual_ml.app import cli
from continual_ml.app.status import status_lines
from continual_ml.demo.synthetic_stream import generate_batch, partition_date


def test_status_counts_labels_for_quarantined_rows(home, config, tmp_path, capfd):
    rows = generate_batch(config, partition_date(config, 0)).head(10).reset_index(drop=True)
    rows = rows.astype({"x0": object})
    rows.loc[:1, "x0"] = "abc"  # two rows quarantined
    rows.to_csv(tmp_path / "day.csv", index=False)
    ids = rows["row_id"].tolist()
    labels = pd.DataFrame({"row_id": [ids[0], ids[1], ids[5], "not-seen-yet"], "label": 1})
    labels.to_csv(tmp_path / "labels.csv", index=False)

    assert cli.main(["ingest", str(tmp_path / "day.csv")]) == 0
    capfd.readouterr()
    assert cli.main(["ingest", str(tmp_path / "labels.csv"), "--kind", "labels"]) == 0
    out = capfd.readouterr().out
    assert "1 labels waiting for their rows or predictions" in out
    assert "2 labels for quarantined rows (not waited for)" in out

    with dg.DagsterInstance.get() as instance:
        [newest, *_] = instance.fetch_observations(
            dg.AssetKey("labels"), limit=10, ascending=False
        ).records
        ledger = {k: v.value for k, v in newest.asset_observation.metadata.items()}
    assert ledger == {
        "labels_in": 4,
        "labels_matched": 1,
        "labels_waiting": 1,
        "labels_for_quarantined_rows": 2,
    }
    assert (
        "labels: 4 in: 1 matched, 1 waiting for their rows, 2 for quarantined rows "
        "(not waited for)" in status_lines(home)
    )
