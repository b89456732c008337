"""helpers.compression.text: the package-of-origin task's split, encoding and model, and its claims' checks."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from helpers.compression.claims import TEXT_ACCURACY_CLAIMS, text_claim
from helpers.compression.text import (
    CLAIM_ARMS,
    OVERFIT_TRAIN_ACCURACY,
    PAD,
    UNKNOWN,
    BagOfWords,
    claim_checks,
    encode,
    labelled_paragraphs,
    load_text_task,
    tokens,
)
from helpers.compression.verdicts import assess_accuracy

PACKAGES = ("numpy", "matplotlib")


@pytest.fixture(scope="module")
def task():
    return load_text_task(
        per_class_train=200, per_class_test=300, vocab_size=500, max_len=32, packages=PACKAGES
    )


def test_tokens_are_lower_case_words_numbers_and_marks():
    assert tokens("Return the `ndarray` of 2 axes.") == [
        "return",
        "the",
        "`",
        "ndarray",
        "`",
        "of",
        "2",
        "axes",
        ".",
    ]


def test_encoding_pads_with_zero_and_marks_unknown_tokens():
    ids = encode(["the cat sat", "the"], {"the": 2, "sat": 3}, max_len=4)
    assert ids.dtype == torch.int64 and ids.tolist() == [[2, UNKNOWN, 3, PAD], [2, PAD, PAD, PAD]]


def test_no_test_paragraph_is_a_training_paragraph_and_no_text_has_two_labels():
    texts, labels, heldout = labelled_paragraphs(PACKAGES)
    training = {t for t, h in zip(texts, heldout, strict=True) if not h}
    assert not any(h and t in training for t, h in zip(texts, heldout, strict=True))
    label_of: dict[str, int] = {}
    for text, label in zip(texts, labels, strict=True):
        assert label_of.setdefault(text, label) == label, text


def test_the_split_is_balanced_fixed_and_held_out_by_module(task):
    data = task.data
    assert task.classes == PACKAGES and data.num_classes == 2
    assert torch.bincount(data.y_test).tolist() == [300, 300]
    assert len(data.y_train) + len(data.y_val) == 400 and data.x_train.shape[1] == 32
    assert task.vocabulary[:2] == ("<pad>", "<unk>") and task.vocab_size == 500
    again = load_text_task(
        per_class_train=200, per_class_test=300, vocab_size=500, max_len=32, packages=PACKAGES
    )
    assert torch.equal(again.data.x_train, data.x_train) and again.vocabulary == task.vocabulary
    with pytest.raises(ValueError, match="vocab_size=2"):
        load_text_task(vocab_size=2)


def test_the_bag_of_words_ignores_padding_and_the_factorised_table_is_smaller():
    torch.manual_seed(0)
    model = BagOfWords(50, 3).eval()
    short, padded = torch.tensor([[5, 6, 7]]), torch.tensor([[5, 6, 7, PAD, PAD]])
    assert torch.allclose(model(short), model(padded))
    factorised = BagOfWords(50, 3, factor_dim=4)
    assert factorised.embedding.weight.shape == (50, 4) and factorised.projection.weight.shape == (128, 4)


def frame(arms: dict[str, list[float]], train: dict[str, list[float]] | None = None) -> pd.DataFrame:
    rows = []
    for arm, values in arms.items():
        for seed, value in enumerate(values):
            fit = (train or {}).get(arm, [value] * len(values))[seed]
            rows.append({"seed": seed, "arm": arm, "test_accuracy": value, "train_accuracy": fit})
    return pd.DataFrame(rows)


def test_distillation_is_only_judged_when_the_teacher_knows_more_and_over_fitting_when_it_happens():
    runs = frame(
        {
            "baseline": [0.70, 0.71, 0.72],
            "alone_few_labels": [0.40, 0.42, 0.41],
            "alone_all_labels": [0.70, 0.72, 0.71],
        }
        | {"overfit_dense": [0.5, 0.5, 0.5]},
        {"overfit_dense": [1.0, 1.0, OVERFIT_TRAIN_ACCURACY - 0.05]},
    )
    (few,) = claim_checks(runs, "distillation_few_labels").items()
    assert few[1] is True and "the teacher is more accurate than the student alone (+30.00 pts" in few[0]
    (everything,) = claim_checks(runs, "distillation_all_labels").values()
    assert everything is False, "a teacher no better than the student alone has nothing to distil"
    (fits,) = claim_checks(runs, "pruning_overfit").values()
    assert fits is False, "mean training accuracy below the threshold: not an over-fit regime"
    assert claim_checks(runs, "architecture") == {}
    assert set(CLAIM_ARMS) == set(TEXT_ACCURACY_CLAIMS)


def test_paired_verdicts_on_constructed_seeds(monkeypatch):
    monkeypatch.setenv("FSL_NOTEBOOK", "08_some_name")
    claim = text_claim("quantization", 4.0, 0.7)
    base = [0.60, 0.65, 0.70, 0.62]
    verdict = {
        "above": assess_accuracy(claim, "a", "b", [b + 0.01 for b in base], base)["verdict"],
        "straddles": assess_accuracy(
            claim, "a", "b", [b + d for b, d in zip(base, (0.01, -0.01, 0.0, 0.005), strict=True)], base
        )["verdict"],
        "equal": assess_accuracy(claim, "a", "b", base, base)["verdict"],
        "check fails": assess_accuracy(claim, "a", "b", [b + 0.01 for b in base], base, {"x": False})[
            "verdict"
        ],
        "one seed": assess_accuracy(claim, "a", "b", [0.7], [0.6])["verdict"],
    }
    assert verdict == {
        "above": "reproduced",
        "straddles": "inconclusive",
        "equal": "not reproduced",
        "check fails": "not measurable at this scale",
        "one seed": "not measurable here",
    }
    assert "T = 4, α = 0.7" in text_claim("distillation_few_labels", 4.0, 0.7).statement
