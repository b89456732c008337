"""helpers.albert.downstream: tasks from held-out documents (split by module, no opening or closing paragraph)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.albert.downstream import (
    _next_or_later_pairs,
    downstream_difference,
    downstream_table,
    source_of,
    split_documents,
)
from helpers.albert.pairs import NOT_ORIGINAL, ORIGINAL
from helpers.datasets.prose import Document

DOCUMENTS = [Document(f"pkg{d % 2}/mod{d}:f@1", f"pkg{d % 2}/mod{d}", ("x",) * 6) for d in range(30)]
DOCS = [[[100 + 10 * d + s] for s in range(6)] for d in range(30)]


def test_source_and_split_by_module():
    assert source_of("numpy/linalg/norm:norm@12") == "numpy" and source_of("pydoc:if") == "pydoc"
    train, test = split_documents(DOCUMENTS)
    assert sorted(train + test) == list(range(30)) and train and test
    assert not {DOCUMENTS[i].group for i in train} & {DOCUMENTS[i].group for i in test}


def test_next_or_later_pairs_are_in_order_inside_one_document_without_its_ends():
    pairs = _next_or_later_pairs(DOCS, range(30), 400, np.random.default_rng(0))
    assert sum(p.label == ORIGINAL for p in pairs) == 200
    for pair in pairs:
        (da, sa), (db, sb) = pair.source_first, pair.source_second
        assert da == db and 0 < sa < sb < 5
        assert (sb == sa + 1) == (pair.label == ORIGINAL) and (sb >= sa + 2) == (pair.label == NOT_ORIGINAL)


def test_downstream_difference_with_one_seed_uses_the_test_size():
    rows = [
        {"pretraining": m, "seed": 0, "task": t, "accuracy": acc}
        for m, accs in (("sop", (0.7, 0.6)), ("nsp", (0.6, 0.6)))
        for t, acc in zip("ab", accs, strict=True)
    ]
    results = pd.DataFrame(rows)
    half = 100 * 1.959964 * np.sqrt((0.21 + 0.24 + 0.24 + 0.24) / 1000 / 4)  # two-sided 95 %, mean of 2 tasks
    estimate = downstream_difference(results, "sop", "nsp", 1000)
    assert (estimate.value, estimate.low, estimate.high) == pytest.approx(
        (5.0, 5.0 - half, 5.0 + half), rel=1e-6
    )
    seeds = pd.concat([results, results.assign(seed=1, accuracy=results["accuracy"] + [0.02, 0, 0, 0])])
    over_seeds = downstream_difference(seeds, "sop", "nsp", 1000)  # per-seed differences 5 and 6 points
    assert over_seeds.value == pytest.approx(5.5) and over_seeds.of.startswith("mean over 2 seeds")
    assert downstream_table(results).loc["sop", "average"] == 65.0
    with pytest.raises(ValueError, match="same seeds and tasks"):
        downstream_difference(results, "sop", "mlm", 1000)
