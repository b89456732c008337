"""helpers.compression.verdicts on real small inputs: two tiny networks trained over seeds, measured, judged.

The expected verdicts come from tests/compression_expected.py (NumPy and the thresholds written out again), not
from the rule code that produced them. This covers the several-seed branch of notebooks 04–07 and the one-seed
branch (not measurable) alike.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.compression.claims import ARCHITECTURE_EFFICIENCY, PRUNING_ACCURACY
from helpers.compression.data import load_data
from helpers.compression.measure import measure_variant, paired_latency
from helpers.compression.models import MLP
from helpers.compression.train import TrainConfig, train_over_seeds
from helpers.compression.verdicts import (
    assess_accuracy,
    assess_efficiency,
    efficiency_sentence,
    what_it_shows,
)

from .compression_expected import check_accuracy_claim, efficiency_verdict

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def measured():
    """A wide and a narrow MLP, each trained for two epochs on three seeds, measured with the shared row."""
    data = load_data(limit=200)
    config = TrainConfig(epochs=2, patience=2, progress=False)
    rows, models = {}, {}
    for name, hidden in (("wide", (256,)), ("narrow", (8,))):
        runs = train_over_seeds(lambda h=hidden: MLP(hidden=h), SEEDS, data, config)
        models[name] = runs[0].model
        rows[name] = measure_variant(
            name,
            "baseline",
            runs[0].model,
            data.x_test[:8],
            [r.test_accuracy for r in runs],
            SEEDS,
            min_run_time=0.02,
            threads=1,
        )
    example = data.x_test[:8]
    rows["paired"] = {
        (a, b): paired_latency((a, models[a]), (b, models[b]), example, 0.02, threads=1, rounds=5)
        for a, b in (("wide", "narrow"), ("narrow", "wide"))
    }
    return rows


def test_several_seeds_give_the_independently_computed_accuracy_verdict(measured):
    wide, narrow = measured["wide"], measured["narrow"]
    entry = assess_accuracy(
        PRUNING_ACCURACY, "narrow", "wide", narrow.per_seed_accuracy, wide.per_seed_accuracy
    )
    check_accuracy_claim(entry, narrow.per_seed_accuracy, wide.per_seed_accuracy)
    reverse = assess_accuracy(
        PRUNING_ACCURACY, "wide", "narrow", wide.per_seed_accuracy, narrow.per_seed_accuracy
    )
    check_accuracy_claim(reverse, wide.per_seed_accuracy, narrow.per_seed_accuracy)
    assert "over 3 seeds" in entry["reason"]


def test_one_seed_is_not_measurable_with_the_reason(measured):
    wide, narrow = measured["wide"], measured["narrow"]
    entry = assess_accuracy(
        PRUNING_ACCURACY, "narrow", "wide", narrow.per_seed_accuracy[:1], wide.per_seed_accuracy
    )
    check_accuracy_claim(entry, narrow.per_seed_accuracy[:1], wide.per_seed_accuracy)
    assert "one seed gives no interval" in entry["reason"]


def test_each_efficiency_measure_is_judged_alone_and_can_fail(measured):
    wide, narrow, paired = measured["wide"], measured["narrow"], measured["paired"]
    entries = assess_efficiency(ARCHITECTURE_EFFICIENCY, wide, narrow, paired["wide", "narrow"])
    smaller = {e["id"].rsplit(".", 1)[1]: e for e in entries}
    assert smaller["size"]["measured"] == pytest.approx(wide.size_bytes / narrow.size_bytes)
    assert (
        smaller["size"]["verdict"] == efficiency_verdict(wide.size_bytes / narrow.size_bytes) == "reproduced"
    )
    run = paired["wide", "narrow"]
    assert len(run.ratios["b1"]) == len(run.ratios["large"]) == 5
    assert smaller["latency_b1"]["measured"] == pytest.approx(float(np.median(run.ratios["b1"])))
    assert smaller["throughput_b64"]["measured"] == pytest.approx(float(np.median(run.ratios["large"])))
    assert "median over 5 paired rounds" in smaller["latency_b1"]["reason"]
    assert "timed alternately" in smaller["latency_b1"]["reason"]
    entries = assess_efficiency(ARCHITECTURE_EFFICIENCY, narrow, wide, paired["narrow", "wide"])
    larger = {e["id"].rsplit(".", 1)[1]: e for e in entries}
    assert larger["size"]["verdict"] == "not reproduced" and "larger" in larger["size"]["reason"]
    for measure, entry in larger.items():
        assert entry["verdict"] == efficiency_verdict(entry["estimate"]["low"], entry["estimate"]["high"]), (
            measure
        )


def test_a_paired_run_of_other_models_is_refused(measured):
    with pytest.raises(ValueError, match="timed narrow against wide; time wide against narrow"):
        assess_efficiency(
            ARCHITECTURE_EFFICIENCY,
            measured["narrow"],
            measured["wide"],
            measured["paired"]["wide", "narrow"],
        )


def test_sentences_read_the_direction():
    assert efficiency_sentence("latency_b1", 0.25) == "0.25× the reference: 4.00× slower"
    assert efficiency_sentence("size", 3.0) == "3.00× smaller"
    assert "claimed direction" in what_it_shows("a", "b", [0.95, 0.96, 0.97], [0.90, 0.91, 0.92])
    assert "opposite direction" in what_it_shows("a", "b", [0.90, 0.91, 0.92], [0.95, 0.96, 0.97])
    assert "no accuracy change is measurable" in what_it_shows("a", "b", [0.90, 0.95], [0.91, 0.94])
    tiny = ([0.901, 0.950, 0.920], [0.900, 0.951, 0.919])  # paired differences +0.1, −0.1, +0.1 pts
    assert "stops short of +0.5 pts, so any change in the claimed direction is negligible" in what_it_shows(
        "a", "b", *tiny
    )
    assert assess_accuracy(PRUNING_ACCURACY, "a", "b", *tiny)["verdict"] == "not reproduced"
    assert "one seed gives no interval" in what_it_shows("a", "b", [0.9], [0.8])
    same = what_it_shows("a", "b", [0.9, 0.95], [0.9, 0.95])
    assert same.endswith("both models score exactly the same on every seed, so there is no accuracy change.")
    assert (
        assess_accuracy(PRUNING_ACCURACY, "a", "b", [0.9, 0.95], [0.9, 0.95])["verdict"] == "not reproduced"
    )
