"""07_compression_distillation: teacher, student alone and distilled student measured; sizes and verdicts agree."""

from __future__ import annotations

import pytest

from helpers.collection.runner import execute_notebook

from .conftest import NOTEBOOKS_DIR, SMOKE_TIMEOUT_S, VARIANT_KEYS

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
    efficiency = run.claim("compression.distillation.efficiency")
    assert (
        efficiency["measured"]
        >= r["model.teacher.size_bytes"] / r["model.student_distilled.size_bytes"] - 1e-9
    )
    assert efficiency["verdict"] == "reproduced"
    for cid in (
        "compression.distillation.accuracy_decrease_vs_teacher",
        "compression.distillation.beats_student_alone",
    ):
        claim = run.claim(cid)
        if len(r["params.seeds"]) < 2:
            assert claim["measured"] is None and claim["verdict"] == "not measurable here"
        else:
            assert claim["verdict"] == ("reproduced" if claim["measured"] > 0 else "not reproduced")


@pytest.mark.parametrize(
    ("params", "message"), [({"alphas": [1.5]}, "alphas"), ({"student_width": 2.0}, "student_width")]
)
def test_bad_parameters_are_explained(tmp_path, params, message):
    notebook = NOTEBOOKS_DIR / "07_compression_distillation.ipynb"
    result = execute_notebook(notebook, tmp_path, "smoke", SMOKE_TIMEOUT_S, params)
    assert result.status == "failed"
    assert "ValueError" in result.error and message in result.error
