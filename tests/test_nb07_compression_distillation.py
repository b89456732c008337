"""07_compression_distillation: teacher, student alone and distilled student measured; sizes and verdicts agree."""

from __future__ import annotations

import pytest

from helpers.compression.claims import LABEL_FRACTIONS

from .compression_expected import check_accuracy_claim, check_efficiency_claims, efficiency_claims
from .conftest import VARIANT_KEYS

VARIANTS = ("teacher", "student_alone", "student_distilled")
KEYS = VARIANT_KEYS


@pytest.fixture(scope="module")
def run(smoke_run):
    return smoke_run("07_compression_distillation")


def test_every_variant_has_every_measurement(run):
    for v in VARIANTS:
        for key in KEYS:
            assert run.results.get(f"model.{v}.{key}") is not None, f"model.{v}.{key} missing"
        assert 0 <= run.results[f"model.{v}.accuracy_mean"] <= 1
        assert run.results[f"model.{v}.seeds"] == run.results["params.seeds"]


def test_distilled_student_is_exactly_the_student_size(run):
    r = run.results
    assert r["model.student_distilled.size_bytes"] == r["model.student_alone.size_bytes"]
    assert r["model.student_distilled.params"] == r["model.student_alone.params"]
    assert r["model.student_distilled.macs"] == r["model.student_alone.macs"]
    assert r["distillation.same_size_as_student"] is True
    assert r["model.teacher.params"] > 5 * r["model.student_distilled.params"]


def test_sweep_covers_the_grid_and_picks_its_best(run):
    r = run.results
    sweep = r["distillation.sweep"]
    assert len(sweep) == len(r["params.temperatures"]) * len(r["params.alphas"])
    best = max(sweep, key=lambda row: row["val_accuracy"])
    assert (r["distillation.best_temperature"], r["distillation.best_alpha"]) == (
        best["temperature"],
        best["alpha"],
    )


def test_claims_follow_the_recorded_numbers(run):
    r = run.results
    check_efficiency_claims(efficiency_claims(run.claims, "distillation"), r, "teacher", "student_distilled")
    assert len(r["params.seeds"]) >= 2, (
        "the smoke profile runs two seeds, so the accuracy verdicts are computed"
    )
    check_accuracy_claim(
        run.claim("compression.distillation.accuracy_decrease_vs_teacher"),
        r["model.teacher.per_seed_accuracy"],
        r["model.student_distilled.per_seed_accuracy"],
    )


def test_every_labelled_fraction_has_a_verdict_from_its_seeds(run):
    r = run.results
    curve = r["distillation.fraction_curve"]
    assert {row["fraction"] for row in curve} == set(LABEL_FRACTIONS)
    for fraction in LABEL_FRACTIONS:
        arms = {
            arm: [
                row["test_accuracy"]
                for row in sorted(curve, key=lambda row: row["seed"])
                if row["fraction"] == fraction and row["arm"] == arm
            ]
            for arm in ("alone", "distilled")
        }
        assert len(arms["alone"]) == len(arms["distilled"]) == len(r["params.seeds"])
        entry = run.claim(f"compression.distillation.beats_student_alone.labels_{round(100 * fraction)}pct")
        check_accuracy_claim(entry, arms["distilled"], arms["alone"])
    full = [row["test_accuracy"] for row in curve if row["fraction"] == 1.0 and row["arm"] == "distilled"]
    assert sorted(full) == sorted(r["model.student_distilled.per_seed_accuracy"])
    images = {row["fraction"]: row["labelled_images"] for row in curve}
    assert images[0.05] < images[0.2] < images[1.0]
