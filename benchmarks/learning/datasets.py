"""The datasets the benchmark replays: public data shipped inside installed packages (read
offline, cut into days) and river's concept-drift streams (`benchmarks.drift_streams`).

Issue 17's four kinds: a binary book with a shift part way (`book`, statsmodels' Fair survey),
the same with missing values and an unseen category (`book_with_gaps`), three text classes
(`image_segments`, river's ImageSegments) and ten categorical columns (`solar_flares`, river's
SolarFlare); river's Phishing and Shuttle on request. The streams (`sea_abrupt`,
`agrawal_abrupt`, `hyperplane_gradual`) each carry two or three documented drifts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

HISTORY_DAYS = 8  # days ingested with their labels before the first replayed day


PER_DAY_BOOK = 200
SHIFT_AFTER = 3  # replayed days before the book's shift
OCCUPATIONS = {  # Fair's codebook for `occupation` and `occupation_husb`
    1: "student",
    2: "farming, semi-skilled or unskilled",
    3: "white collar",
    4: "teacher, nurse, writer, technician or skilled",
    5: "managerial or business",
    6: "professional with advanced degree",
}


def book(missing: bool = False) -> pd.DataFrame:
    """A binary book with a shift: Fair's 6,366 survey answers (statsmodels' bundled `fair`),
    200 a day, label `affair` (any time spent in affairs).

    The file is stored sorted by its label, so it has no natural order to keep: arrivals are a
    seeded shuffle within two segments. The history and the first `SHIFT_AFTER` replayed days
    come from long marriages (married 10 years or more, 43% positive); from then on from shorter
    ones (26% positive), the way a book moves into a new segment. With `missing`, `educ` and
    `occupation_husb` are empty on 10% of rows, 25% after the shift, and after the shift 8% of
    rows bring an occupation the history never had (`gig work`)."""
    import statsmodels.api as sm

    raw = sm.datasets.fair.load_pandas().data
    rows = raw[["rate_marriage", "age", "yrs_married", "children", "religious", "educ"]].copy()
    rows["occupation"] = raw["occupation"].astype(int).map(OCCUPATIONS)
    rows["occupation_husb"] = raw["occupation_husb"].astype(int).map(OCCUPATIONS)
    rows["affair"] = (raw["affairs"] > 0).astype(int)
    before_days = HISTORY_DAYS + SHIFT_AFTER
    long = rows[rows["yrs_married"] >= 10].sample(frac=1, random_state=17)
    short = rows[rows["yrs_married"] < 10].sample(frac=1, random_state=17)
    rows = pd.concat(
        [long.iloc[: before_days * PER_DAY_BOOK], short.iloc[: 12 * PER_DAY_BOOK]],
        ignore_index=True,
    )
    if missing:
        rng = np.random.default_rng(17)
        shifted = np.arange(len(rows)) >= before_days * PER_DAY_BOOK
        share = np.where(shifted, 0.25, 0.10)
        for column in ("educ", "occupation_husb"):
            rows[column] = rows[column].mask(rng.random(len(rows)) < share)
        rows.loc[shifted & (rng.random(len(rows)) < 0.08), "occupation"] = "gig work"
    return _days(rows, "customer_id", per_day=PER_DAY_BOOK)


def book_with_gaps() -> pd.DataFrame:
    """The same book with missing values rising and an unseen category after the shift."""
    return book(missing=True)


SEGMENT_GROUPS = {"sky": "sky", "foliage": "vegetation", "grass": "vegetation"}


def image_segments() -> pd.DataFrame:
    """2,310 outdoor image regions, 140 a day, in river's bundled order (ImageSegments): 18
    numeric features, three text classes. The seven classes are grouped into `sky`,
    `vegetation` (foliage, grass) and `man-made` (brickface, cement, window, path)."""
    from river import datasets

    rows = pd.DataFrame(
        [
            {
                **{k.replace("-", "_"): v for k, v in x.items()},
                "class": SEGMENT_GROUPS.get(y, "man-made"),
            }
            for x, y in datasets.ImageSegments()
        ]
    )
    return _days(rows, "region_id", per_day=140)


SOLAR_CODES = {  # the UCI codebook of the coded columns
    "activity": {1: "reduced", 2: "unchanged"},
    "evolution": {1: "decay", 2: "no growth", 3: "growth"},
    "previous_24h_flare_activity": {1: "below M1", 2: "one M1", 3: "above one M1"},
    "hist_complex": {1: "was complex", 2: "never complex"},
    "hist_complex_this_pass": {1: "became complex", 2: "did not"},
    "area": {1: "small", 2: "large"},
    "largest_spot_area": {1: "5 or less", 2: "above 5"},
}


def solar_flares() -> pd.DataFrame:
    """1,066 sunspot regions, 50 a day, in river's bundled order (SolarFlare): all 10 features
    categorical (Zurich class, spot size and distribution as letters; the 7 coded ones written
    as their codebook's words); label `flare`: the region produced any C, M or X flare."""
    from river import datasets

    records = []
    for x, y in datasets.SolarFlare():
        row = {k.replace("-", "_"): v for k, v in x.items()}
        row.update({k: codes[row[k]] for k, codes in SOLAR_CODES.items()})
        records.append({**row, "flare": int(sum(y.values()) > 0)})
    return _days(pd.DataFrame(records), "region_id", per_day=50)


def phishing() -> pd.DataFrame:
    """1,250 web pages, 50 a day: numeric ratios, a boolean, a binary label (river Phishing)."""
    from river import datasets

    rows = pd.DataFrame([{**x, "is_phishing": int(y)} for x, y in datasets.Phishing()])
    rows["ip_in_url"] = rows["ip_in_url"].astype(bool)
    return _days(rows, "url_id", per_day=50)


def shuttle() -> pd.DataFrame:
    """6,000 space-shuttle sensor readings, 300 a day, the rare class as 1 (river Shuttle)."""
    from river import datasets

    rows = pd.DataFrame(
        [{**x, "anomaly": int(y)} for x, y in itertools.islice(datasets.Shuttle(), 6000)]
    )
    return _days(rows, "reading_id", per_day=300)


def _days(rows: pd.DataFrame, id_name: str, per_day: int) -> pd.DataFrame:
    """Stamp rows in their order, `per_day` to a day from 2026-03-01, spread over each day; a
    last, incomplete day is left out (its row count would fail the partition's checks)."""
    rows = rows.iloc[: len(rows) // per_day * per_day].reset_index(drop=True)
    index = np.arange(len(rows))
    seconds = (index // per_day) * 86400 + (index % per_day) * (86000 // per_day)
    rows.insert(0, id_name, [f"{id_name[0]}{i}" for i in index])
    rows.insert(1, "event_time", pd.Timestamp("2026-03-01") + pd.to_timedelta(seconds, "s"))
    return rows


STREAM_DAYS, STREAM_ROWS, STREAM_HISTORY = 30, 600, 6


def drift_stream(name: str) -> Callable[[], pd.DataFrame]:
    """One of `benchmarks.drift_streams`' streams as a user's file: 30 days of 600 rows."""

    def build() -> pd.DataFrame:
        from benchmarks.drift_streams import STREAMS

        stream = STREAMS[name](STREAM_DAYS, STREAM_ROWS, 0)
        rows = pd.concat(stream.batches, ignore_index=True)
        features = rows[stream.feature_names].round(4)  # a CSV a person would write
        return _days(features.assign(label=rows["label"]), "event_id", per_day=STREAM_ROWS)

    return build


def stationary_stream(name: str) -> Callable[[], pd.DataFrame]:
    """The first concept of one of `benchmarks.drift_streams`' streams, never changing: 30 days
    of 600 rows in which any promotion is a false one."""

    def build() -> pd.DataFrame:
        from benchmarks.drift_streams import STREAMS

        stream = STREAMS[name](STREAM_DAYS, STREAM_ROWS, 0)
        first = stream.drift_batches[0] if stream.drift_batches else STREAM_DAYS
        # the first concept's rows, as many as the stream has days, drawn again for every day
        longer = STREAMS[name](STREAM_DAYS * (STREAM_DAYS // max(first, 1) + 1), STREAM_ROWS, 7)
        batches = longer.batches[: longer.drift_batches[0]] if longer.drift_batches else []
        rows = pd.concat(batches[:STREAM_DAYS], ignore_index=True)
        features = rows[stream.feature_names].round(4)
        return _days(features.assign(label=rows["label"]), "event_id", per_day=STREAM_ROWS)

    return build


def stream_shifts(name: str) -> tuple[int, ...]:
    """The replayed days on which the stream's new concepts first appear."""
    from benchmarks.drift_streams import STREAMS

    drifts = STREAMS[name](STREAM_DAYS, 1, 0).drift_batches
    return tuple(batch - STREAM_HISTORY for batch in drifts)


@dataclass(frozen=True)
class Dataset:
    """How to build the rows, their label, the replayed days a shift starts on, and how many
    days make the history ingested before the replay."""

    build: Callable[[], pd.DataFrame]
    label: str
    shifts: tuple[int, ...] = ()
    history_days: int = HISTORY_DAYS


DATASETS = {
    "book": Dataset(book, "affair", (SHIFT_AFTER,)),
    "book_with_gaps": Dataset(book_with_gaps, "affair", (SHIFT_AFTER,)),
    "image_segments": Dataset(image_segments, "class"),
    "solar_flares": Dataset(solar_flares, "flare"),
    "phishing": Dataset(phishing, "is_phishing"),
    "shuttle": Dataset(shuttle, "anomaly"),
    **{
        name: Dataset(drift_stream(name), "label", stream_shifts(name), STREAM_HISTORY)
        for name in ("sea_abrupt", "agrawal_abrupt", "hyperplane_gradual")
    },
}
DATASETS.update(
    {
        f"{name.split('_')[0]}_no_change": Dataset(
            stationary_stream(name), "label", (), STREAM_HISTORY
        )
        for name in ("sea_abrupt", "agrawal_abrupt", "hyperplane_gradual")
    }
)
PUBLIC = ("book", "book_with_gaps", "image_segments", "solar_flares")
NO_CHANGE = ("sea_no_change", "agrawal_no_change", "hyperplane_no_change")
STREAMS = ("sea_abrupt", "agrawal_abrupt", "hyperplane_gradual")
