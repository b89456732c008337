"""helpers.albert.cues: surface cues per pair and label, and a cue-only classifier that can tell cued pairs apart."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.albert.cues import cue_only_accuracy, cue_table, surface_cues
from helpers.albert.pairs import ORIGINAL, PairBuilder

# every document opens with a short segment of token 7 ("summary") followed by body segments of random length
_LENGTHS = np.random.default_rng(0).integers(6, 12, size=(40, 5))
DOCS = [[[7] * 3] + [[100 + d] * int(_LENGTHS[d, s]) for s in range(5)] for d in range(40)]
TEXTS = [["Summary."] + ["body text"] * 5 for _ in range(40)]


def _cues(construction: str, seed: int):
    pairs = PairBuilder(DOCS, construction).pairs("sop", 1200, np.random.default_rng(seed))
    return surface_cues(pairs, DOCS, TEXTS)


def test_cues_are_measured_per_pair():
    cues = _cues("cued", 0)
    row = cues.iloc[0]
    assert set(cues["label"]) == {0, 1}
    assert row["b_capitalised"] == (row["b_opens"])  # only the opening segments are capitalised here
    assert (cues["a_tokens"] >= 3).all() and (cues["b_tokens"] >= 3).all()


def test_cue_table_shows_the_opening_cue_only_in_cued_pairs():
    cued, controlled = cue_table(_cues("cued", 1)), cue_table(_cues("controlled", 1))
    assert cued.loc["B opens its document (%)", "original"] == 0.0
    assert cued.loc["B opens its document (%)", "not original"] > 10
    assert controlled.loc["B opens its document (%)"].tolist()[:2] == [0.0, 0.0]
    assert controlled.loc["A closes its document (%)"].tolist()[:2] == [0.0, 0.0]


def test_cue_only_classifier_separates_cued_pairs_better_than_controlled_ones():
    cued = cue_only_accuracy(_cues("cued", 2), _cues("cued", 3))
    controlled = cue_only_accuracy(_cues("controlled", 2), _cues("controlled", 3))
    assert cued > 0.6  # the opening and closing segments give a swapped pair away
    assert cued > controlled


def test_bad_inputs_have_clear_messages():
    with pytest.raises(ValueError, match="No pairs"):
        surface_cues([], DOCS, TEXTS)
    pairs = PairBuilder(DOCS).pairs("mlm", 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="both labels"):
        cue_only_accuracy(surface_cues(pairs, DOCS, TEXTS), surface_cues(pairs, DOCS, TEXTS))
    assert ORIGINAL == 0
