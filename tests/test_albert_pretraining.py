"""helpers.albert tokenizer, pretraining and table5: tokenizer round trip, masked-only MLM head, training and
evaluation, the analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from helpers.albert.claims import NSP_MODEL_SOP_NEAR_CHANCE, SOP_BEATS_NSP_ON_SOP, SOP_MODEL_SOLVES_NSP
from helpers.albert.pairs import IGNORE, TASKS, PairBuilder
from helpers.albert.pretraining import (
    ModelSize,
    TrainSettings,
    evaluate,
    heads_forward,
    load_pretrained,
    make_batch,
    make_eval_sets,
    new_model,
    pretrain,
)
from helpers.albert.table5 import (
    above_chance,
    difference,
    distance_from_chance,
    learned,
    run_table5,
    side_by_side,
    table5,
)
from helpers.albert.tokenizer import load_tokenizer, special_tokens, tokenize_documents, train_tokenizer
from helpers.core.claims import INCONCLUSIVE, NOT_REPRODUCED, PARTLY, REPRODUCED
from helpers.core.stats import accuracy_interval, proportion_interval
from helpers.datasets.prose import build_corpus

SIZE = ModelSize(embedding_size=16, hidden_size=32, num_layers=1, num_heads=2)
SETTINGS = TrainSettings(steps=4, batch_size=8, max_len=32, learning_rate=1e-3, eval_every=2)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import os

    os.environ["FSL_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    corpus = build_corpus(("pydoc_topics",), heldout_fraction=0.2)
    tokenizer = train_tokenizer(corpus.texts("train"), 300)
    folder = tmp_path_factory.mktemp("tok")
    tokenizer.save_pretrained(str(folder))
    reloaded = load_tokenizer(folder)
    special = special_tokens(reloaded)
    return (
        corpus,
        tokenizer,
        reloaded,
        special,
        tokenize_documents(reloaded, corpus.train),
        tokenize_documents(reloaded, corpus.heldout),
    )


def test_tokenizer_round_trip_after_save_and_reload(setup):
    corpus, tokenizer, reloaded, special, _, _ = setup
    text = corpus.texts("heldout")[0]
    ids = reloaded(text, add_special_tokens=False)["input_ids"]
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert reloaded.decode(ids) == " ".join(text.lower().split())
    assert len(reloaded) == 300
    assert (special.pad, special.cls, special.sep, special.mask) == (0, 2, 3, 4)
    pair = reloaded("first part here.", "second part.")
    assert pair["input_ids"][0] == special.cls and pair["input_ids"][-1] == special.sep
    assert pair["token_type_ids"][-1] == 1 and pair["token_type_ids"][0] == 0


def test_masked_only_head_matches_the_full_transformers_forward(setup):
    *_, special, train_docs, _ = setup
    model = new_model(SIZE, special, SETTINGS.max_len, seed=0).eval()
    batch = make_batch("sop", PairBuilder(train_docs), special, SETTINGS, 6, np.random.default_rng(0))
    with torch.no_grad():
        mlm_logits, targets, pair_logits = heads_forward(model, batch)
        full = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            token_type_ids=batch["token_type_ids"],
        )
    where = batch["labels"] != IGNORE
    assert mlm_logits.shape == (int(where.sum()), special.vocab_size)
    torch.testing.assert_close(mlm_logits, full.prediction_logits[where], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pair_logits, full.sop_logits, rtol=1e-4, atol=1e-5)
    assert torch.equal(targets, batch["labels"][where])


def test_same_seed_gives_the_same_initial_model(setup):
    *_, special, _, _ = setup
    a, b = new_model(SIZE, special, 32, seed=3), new_model(SIZE, special, 32, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))


def test_mlm_only_pretraining_never_trains_the_pair_head(setup):
    *_, special, train_docs, heldout_docs = setup
    initial = new_model(SIZE, special, SETTINGS.max_len, seed=1).sop_classifier.classifier.weight.clone()
    curve_sets = make_eval_sets(heldout_docs, special, SETTINGS, 16)
    model, curve = pretrain(
        "mlm", train_docs, special, SIZE, SETTINGS, 1, curve_sets=curve_sets, progress=False
    )
    assert torch.equal(model.sop_classifier.classifier.weight, initial)
    assert [row["step"] for row in curve] == [1, 2, 3, 4]
    assert {"mlm_acc", "nsp_acc", "sop_acc"} <= set(curve[1]) and "mlm_acc" not in curve[0]
    sop_model, _ = pretrain("sop", train_docs, special, SIZE, SETTINGS, 1, progress=False)
    assert not torch.equal(sop_model.sop_classifier.classifier.weight, initial)


def test_evaluation_gives_accuracies_in_the_unit_interval(setup):
    *_, special, _, heldout_docs = setup
    model = new_model(SIZE, special, SETTINGS.max_len, seed=0)
    scores = evaluate(model, make_eval_sets(heldout_docs, special, SETTINGS, 40), "cpu")
    assert set(scores) == {"mlm_acc", "nsp_acc", "sop_acc"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    again = evaluate(model, make_eval_sets(heldout_docs, special, SETTINGS, 40), "cpu")
    assert scores == again  # the evaluation sets are fixed


def test_table5_summary_and_side_by_side():
    runs = pd.DataFrame(
        [
            {
                "task": t,
                "seed": s,
                "mlm_acc": 0.3 + 0.01 * s,
                "nsp_acc": 0.5 + 0.1 * (t == "nsp"),
                "sop_acc": 0.5 + 0.2 * (t == "sop") + 0.01 * s,
            }
            for t in TASKS
            for s in (0, 1, 2)
        ]
    )
    summary = table5(runs)
    assert list(summary.index) == list(TASKS)
    assert summary.loc["nsp", "nsp_acc_mean"] == pytest.approx(0.6)
    assert summary.loc["sop", "sop_acc_std"] == pytest.approx(0.01)
    assert summary.loc["mlm", "seeds"] == [0, 1, 2]
    table = side_by_side(summary)
    assert table.loc["MLM + SOP", ("SOP", "paper")] == "86.5"
    assert table.loc["MLM + SOP", ("SOP", "ours")] == "71.0 ± 1.0"


def test_claim_measures_and_their_intervals():
    values = [0.50, 0.51, 0.52]
    half = 4.302653 * 0.01 / np.sqrt(3)  # two-sided 95 % t, 2 degrees of freedom
    near = distance_from_chance(values, 1000)
    assert (near.value, near.low, near.high) == pytest.approx((1.0, 0.0, 100 * (0.01 + half)))
    above = above_chance(values, 1000)
    assert (above.low, above.high) == pytest.approx((100 * (0.01 - half), 100 * (0.01 + half)))
    assert difference([0.8, 0.8, 0.8], values, 1000).value == pytest.approx(29.0)
    assert learned([0.8, 0.79, 0.81], 1000) and not learned(values, 1000)
    # above chance but within the claims' 5-point near-chance band: not learned in a sense the claims can use
    assert accuracy_interval([0.54], 1024).low > 0.5 and not learned([0.54], 1024) and learned([0.62], 1024)
    judge = {claim: claim.rule.judge for claim in (NSP_MODEL_SOP_NEAR_CHANCE, SOP_MODEL_SOLVES_NSP)}
    assert (
        judge[NSP_MODEL_SOP_NEAR_CHANCE](distance_from_chance([0.5, 0.5, 0.51], 1000)).verdict == REPRODUCED
    )
    assert (
        judge[NSP_MODEL_SOP_NEAR_CHANCE](distance_from_chance([0.9, 0.9, 0.91], 1000)).verdict
        == NOT_REPRODUCED
    )
    assert judge[SOP_MODEL_SOLVES_NSP](above_chance([0.8, 0.79, 0.81], 1000)).verdict == REPRODUCED
    assert judge[SOP_MODEL_SOLVES_NSP](above_chance([0.55, 0.56, 0.57], 1000)).verdict == PARTLY
    assert judge[SOP_MODEL_SOLVES_NSP](above_chance(values, 1000)).verdict == INCONCLUSIVE
    assert (
        SOP_BEATS_NSP_ON_SOP.rule.judge(difference([0.4, 0.41, 0.42], values, 1000)).verdict == NOT_REPRODUCED
    )


def test_one_seed_intervals_come_from_the_evaluation_set_size():
    wilson = proportion_interval(0.6, 1000)
    assert (above_chance([0.6], 1000).low, above_chance([0.6], 1000).high) == pytest.approx(
        (100 * wilson.low - 50, 100 * wilson.high - 50)
    )
    half = 100 * 1.959964 * np.sqrt((0.24 + 0.25) / 1000)
    assert (difference([0.6], [0.5], 1000).low, difference([0.6], [0.5], 1000).high) == pytest.approx(
        (10 - half, 10 + half), rel=1e-5
    )


def test_run_table5_in_worker_processes_matches_one_process(setup):
    *_, special, train_docs, heldout_docs = setup
    docs = train_docs[:60]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the workers, so that the sums are taken in the same order
    one = run_table5(docs, heldout_docs, special, SIZE, SETTINGS, [0], 16, 8, tasks=("sop",), workers=1)
    torch.set_num_threads(threads)
    two = run_table5(docs, heldout_docs, special, SIZE, SETTINGS, [0, 1], 16, 8, tasks=("sop",), workers=2)
    runs_one, runs_two = one[0], two[0]
    columns = ["mlm_acc", "nsp_acc", "sop_acc"]
    assert runs_two[runs_two["seed"] == 0][columns].values.tolist() == runs_one[columns].values.tolist()
    assert set(two[2]) == {("sop", 0), ("sop", 1)}
    model = load_pretrained(two[2][("sop", 1)], SIZE, special, SETTINGS.max_len)
    assert torch.equal(
        model.sop_classifier.classifier.weight, two[2][("sop", 1)]["sop_classifier.classifier.weight"]
    )


def test_bad_parameters_have_clear_messages(setup):
    *_, special, train_docs, _ = setup
    with pytest.raises(ValueError, match="pass n_eval"):
        above_chance([0.5], None)
    with pytest.raises(ValueError, match="pass n_eval"):
        difference([0.6], [0.5], None)
    with pytest.raises(ValueError, match="Unknown pretraining task"):
        pretrain("nli", train_docs, special, SIZE, SETTINGS, 0)
    with pytest.raises(ValueError, match="not divisible"):
        new_model(ModelSize(16, 30, 1, 4), special, 32, 0)
    with pytest.raises(ValueError, match="too small"):
        train_tokenizer(["a few words of text."], 20)
