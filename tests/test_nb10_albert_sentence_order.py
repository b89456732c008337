"""10_albert_sentence_order: every Table 5 key is recorded, accuracies are proportions, verdicts follow the numbers,
the controlled pairs carry no position cue, the downstream and GLUE claims are assessed."""

from __future__ import annotations

import math

import pytest

from helpers.albert.recipe import LEARNING_RATE_STUDY, SOP_RECIPE_STUDY, choose_setting, read_study

from .conftest import expected_verdict

STEM = "10_albert_sentence_order"
TASKS = ("mlm", "nsp", "sop")
CLAIMS = ("albert.nsp_model_sop_near_chance", "albert.sop_model_solves_nsp", "albert.sop_beats_nsp_on_sop")
Z975 = 1.959964  # two-sided 95 % normal quantile (one seed: intervals from the evaluation set)


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def test_corpus_and_tokenizer_are_recorded(smoke):
    r = smoke.results
    assert r["corpus.documents"] == r["corpus.train_documents"] + r["corpus.heldout_documents"]
    assert r["corpus.documents"] <= r["params.max_documents"]
    assert r["corpus.heldout_documents"] >= 2
    assert r["corpus.segments"] >= 2 * r["corpus.documents"]
    assert r["corpus.characters"] > r["corpus.words"] > r["corpus.segments"]
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


def test_controlled_pairs_have_no_opening_cue_and_cued_pairs_do(smoke):
    r = smoke.results
    for task in ("nsp", "sop"):
        assert r[f"pairs.controlled.{task}.negatives_b_opens_document_pct"] == 0.0
        assert r[f"pairs.cued.{task}.negatives_b_opens_document_pct"] > 0.0
        assert 0.0 <= r[f"pairs.controlled.{task}.cue_only_accuracy"] <= 1.0


def _wilson(p: float, n: int) -> tuple[float, float]:
    """The 95 % Wilson interval of a proportion p on n examples, written out here."""
    centre, half = (p + Z975**2 / (2 * n)), Z975 * math.sqrt(p * (1 - p) / n + Z975**2 / (4 * n**2))
    return (centre - half) / (1 + Z975**2 / n), (centre + half) / (1 + Z975**2 / n)


def test_intervals_and_checks_follow_from_the_recorded_accuracies(smoke):
    # computed here from the one-seed intervals (Wilson; normal for a difference), independently of helpers
    r = smoke.results
    assert len(r["params.seeds"]) == 1
    n = r["params.eval_pairs"]
    acc = {(t, e): r[f"runs.{t}.{e}_acc"][0] for t in ("nsp", "sop") for e in ("nsp", "sop")}
    bar = 0.55  # chance plus the 5-point near-chance band of the first claim's rule
    sop_learned = _wilson(acc["sop", "sop"], n)[0] > bar
    nsp_learned = _wilson(acc["nsp", "nsp"], n)[0] > bar
    low, high = _wilson(acc["sop", "nsp"], n)
    above = smoke.claim(CLAIMS[1])
    assert above["measured"] == pytest.approx(100 * (acc["sop", "nsp"] - 0.5), abs=1e-9)
    assert (above["estimate"]["low"], above["estimate"]["high"]) == pytest.approx(
        (100 * low - 50, 100 * high - 50)
    )
    half = (
        100 * Z975 * math.hypot(*(math.sqrt(a * (1 - a) / n) for a in (acc["sop", "sop"], acc["nsp", "sop"])))
    )
    beats = smoke.claim(CLAIMS[2])
    diff = 100 * (acc["sop", "sop"] - acc["nsp", "sop"])
    assert (beats["measured"], beats["estimate"]["low"]) == pytest.approx((diff, diff - half), rel=1e-6)
    assert smoke.claim(CLAIMS[0])["checks"] == {
        "the SOP-trained model learned SOP (own-task 95 % interval above 55 %)": sop_learned,
        "the NSP-trained model learned NSP (own-task 95 % interval above 55 %)": nsp_learned,
    }
    for claim_id, learned in zip(
        CLAIMS, (sop_learned and nsp_learned, sop_learned, sop_learned), strict=True
    ):
        claim = smoke.claim(claim_id)
        assert claim["verdict"] == expected_verdict(claim)
        assert (claim["verdict"] == "not measurable at this scale") == (not learned), claim


def test_downstream_accuracies_and_claim(smoke):
    r = smoke.results
    for model in ("scratch", "mlm", "nsp", "sop"):
        for task in ("package", "next_or_later"):
            values = r[f"downstream.{model}.{task}_acc"]
            assert len(values) == len(r["params.seeds"]) and all(0.0 <= v <= 1.0 for v in values)
    assert len(r["downstream.package.classes"]) >= 2
    claim = smoke.claim("albert.sop_beats_nsp_downstream")
    n = r["params.test_examples"]
    a = [r[f"downstream.sop.{t}_acc"][0] for t in ("next_or_later", "package")]
    b = [r[f"downstream.nsp.{t}_acc"][0] for t in ("next_or_later", "package")]
    half = 100 * Z975 * math.sqrt(sum(x * (1 - x) + y * (1 - y) for x, y in zip(a, b, strict=True)) / n) / 2
    diff = 100 * (sum(a) / 2 - sum(b) / 2)
    assert (claim["measured"], claim["estimate"]["low"], claim["estimate"]["high"]) == pytest.approx(
        (diff, diff - half, diff + half), rel=1e-5, abs=1e-9
    )
    assert claim["verdict"] == expected_verdict(claim)


def test_glue_claims_are_not_measurable_in_the_smoke_profile(smoke):
    for claim_id in ("albert.state_of_the_art_glue_race_squad", "albert.base_v2_sst2_dev_accuracy"):
        claim = smoke.claim(claim_id)
        assert claim["verdict"] == "not measurable here" and "network" in claim["reason"]


def test_learning_curves_are_saved(smoke):
    assert (smoke.out_dir / f"{STEM}.learning-curves.png").exists()


def test_the_run_says_whether_its_recipe_is_the_studys_choice_and_whether_its_curve_agrees(smoke):
    r = smoke.results
    assert r["params.truncation"] in ("starts", "junction")
    assert isinstance(r["params.section_headings"], bool)
    assert isinstance(r["curves.agree_with_table"], bool)
    assert isinstance(r["cues.sop_model_beyond_cue_classifier"], bool)
    if SOP_RECIPE_STUDY.exists():  # the committed studies: the profiles use their choice
        setting = choose_setting([read_study(SOP_RECIPE_STUDY), read_study(LEARNING_RATE_STUDY)])
        assert r["recipe.study_choice"] == (setting[1] if setting else "none")
        assert setting is None or r["recipe.matches_study"] is True
        assert (smoke.out_dir / f"{STEM}.recipe-study.png").exists()
