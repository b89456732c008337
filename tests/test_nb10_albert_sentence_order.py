"""10_albert_sentence_order: every Table 5 key is recorded, accuracies are proportions, verdicts follow the numbers."""

from __future__ import annotations

import pytest

from helpers.albert.pretraining import above_chance_lower, difference_lower, distance_from_chance_upper
from helpers.core.claims import verdict_is_consistent

STEM = "10_albert_sentence_order"
TASKS = ("mlm", "nsp", "sop")
CLAIMS = ("albert.nsp_model_sop_near_chance", "albert.sop_model_solves_nsp", "albert.sop_beats_nsp_on_sop")


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def test_corpus_and_tokenizer_are_recorded(smoke):
    r = smoke.results
    assert r["corpus.documents"] == r["corpus.train_documents"] + r["corpus.heldout_documents"]
    assert r["corpus.heldout_documents"] >= 2
    assert r["corpus.segments"] >= 2 * r["corpus.documents"]
    assert r["corpus.tokens"] > r["corpus.words"] > r["corpus.segments"]
    assert 100 <= r["tokenizer.vocab_size"] <= r["params.vocab_size"]


@pytest.mark.parametrize("task", TASKS)
def test_every_table5_cell_is_a_proportion_with_its_seeds(smoke, task):
    r = smoke.results
    assert r[f"table5.{task}.seeds"] == sorted(r["params.seeds"])
    for e in TASKS:
        mean, std = r[f"table5.{task}.{e}_acc_mean"], r[f"table5.{task}.{e}_acc_std"]
        per_seed = r[f"runs.{task}.{e}_acc"]
        assert 0.0 <= mean <= 1.0 and 0.0 <= std <= 0.5
        assert len(per_seed) == len(r["params.seeds"])
        assert mean == pytest.approx(sum(per_seed) / len(per_seed))
        assert all(0.0 <= v <= 1.0 for v in per_seed)


def test_verdicts_follow_from_the_recorded_accuracies(smoke):
    r = smoke.results
    expected = {
        CLAIMS[0]: distance_from_chance_upper(r["runs.nsp.sop_acc"]),
        CLAIMS[1]: above_chance_lower(r["runs.sop.nsp_acc"]),
        CLAIMS[2]: difference_lower(r["runs.sop.sop_acc"], r["runs.nsp.sop_acc"]),
    }
    for claim_id, measured in expected.items():
        claim = smoke.claim(claim_id)
        assert claim["measured"] == pytest.approx(measured)
        assert verdict_is_consistent(claim)


def test_learning_curves_are_saved(smoke):
    assert (smoke.out_dir / f"{STEM}.learning-curves.png").exists()
