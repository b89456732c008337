"""helpers.albert.pairs: NSP/SOP pair builders, truncation, encoding and MLM masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.albert.pairs import (
    IGNORE,
    NOT_ORIGINAL,
    ORIGINAL,
    PairBuilder,
    SpecialTokens,
    build_pairs,
    encode_pairs,
    mask_tokens,
    ngram_weights,
    opening_share,
    truncate_pair,
)

SPECIAL = SpecialTokens(pad=0, cls=2, sep=3, mask=4, vocab_size=1000, first_regular=5)
# document d, segment s holds tokens that spell out where they came from
DOCS = [[[100 + 10 * d + s] * (3 + s) for s in range(4 + d % 3)] for d in range(8)]


def _origin(tokens):
    value = tokens[0] - 100
    return value // 10, value % 10


@pytest.mark.parametrize("task", ["nsp", "sop"])
def test_pair_labels_are_exactly_balanced(task):
    pairs = build_pairs(task, DOCS, 101, np.random.default_rng(0))
    labels = [p.label for p in pairs]
    assert labels.count(ORIGINAL) == 50 and labels.count(NOT_ORIGINAL) == 51


def test_sop_pairs_come_from_one_document_in_or_out_of_order():
    for pair in build_pairs("sop", DOCS, 400, np.random.default_rng(1)):
        (da, sa), (db, sb) = _origin(pair.first), _origin(pair.second)
        assert (da, sa) == pair.source_first and (db, sb) == pair.source_second
        assert da == db
        assert sb - sa == (1 if pair.label == ORIGINAL else -1)


def test_nsp_positives_are_the_next_segment_and_negatives_another_document():
    pairs = build_pairs("nsp", DOCS, 400, np.random.default_rng(2))
    for pair in pairs:
        (da, sa), (db, sb) = _origin(pair.first), _origin(pair.second)
        if pair.label == ORIGINAL:
            assert (db, sb) == (da, sa + 1)
        else:
            assert db != da
    negatives = {_origin(p.second)[0] for p in pairs if p.label == NOT_ORIGINAL}
    assert len(negatives) == len(DOCS)  # negatives are drawn from every document


def test_mlm_pairs_are_original_consecutive_segments():
    for pair in build_pairs("mlm", DOCS, 50, np.random.default_rng(3)):
        (da, sa), (db, sb) = _origin(pair.first), _origin(pair.second)
        assert pair.label == ORIGINAL and da == db and sb == sa + 1


def test_opening_share_counts_second_segments_that_open_their_document():
    pairs = build_pairs("sop", DOCS, 400, np.random.default_rng(8), construction="cued")
    shares = opening_share(pairs)
    assert shares[ORIGINAL] == 0.0  # an original B always follows A
    expected = np.mean([p.source_second[1] == 0 for p in pairs if p.label == NOT_ORIGINAL])
    assert shares[NOT_ORIGINAL] == pytest.approx(expected) and shares[NOT_ORIGINAL] > 0


@pytest.mark.parametrize("task", ["nsp", "sop", "mlm"])
def test_controlled_pairs_never_use_an_opening_or_closing_segment(task):
    pairs = build_pairs(task, DOCS, 600, np.random.default_rng(9))
    for pair in pairs:
        for d, s in (pair.source_first, pair.source_second):
            assert 0 < s < len(DOCS[d]) - 1
    assert opening_share(pairs)[ORIGINAL] == 0.0
    if task != "mlm":
        assert opening_share(pairs)[NOT_ORIGINAL] == 0.0
    interior = {(d, s) for p in pairs for d, s in (p.source_first, p.source_second)}
    assert interior == {(d, s) for d, doc in enumerate(DOCS) for s in range(1, len(doc) - 1)}  # all are used


def test_cued_pairs_use_every_segment_and_builders_reuse_their_positions():
    builder = PairBuilder(DOCS, "cued")
    pairs = builder.pairs("nsp", 800, np.random.default_rng(10))
    used = {(d, s) for p in pairs for d, s in (p.source_first, p.source_second)}
    assert used == {(d, s) for d, doc in enumerate(DOCS) for s in range(len(doc))}
    assert len(builder.positions) == sum(len(doc) - 1 for doc in DOCS)


def test_truncation_keeps_the_junction_and_the_budget():
    a, b = list(range(10)), list(range(100, 130))
    kept_a, kept_b = truncate_pair(a, b, 16)
    assert len(kept_a) + len(kept_b) == 16
    assert kept_a == a[-len(kept_a) :] and kept_b == b[: len(kept_b)]
    assert len(kept_a) == 8
    assert truncate_pair([1, 2], [3], 10) == ([1, 2], [3])


def test_truncation_can_keep_the_start_of_each_segment_instead():
    a, b = list(range(10)), list(range(100, 130))
    kept_a, kept_b = truncate_pair(a, b, 16, "starts")
    assert (kept_a, kept_b) == (a[:8], b[:8])
    assert truncate_pair([1, 2], [3], 10, "starts") == ([1, 2], [3])
    with pytest.raises(ValueError, match="Unknown truncation 'middle'"):
        truncate_pair(a, b, 16, "middle")


def test_halves_truncation_puts_the_second_segment_at_one_position_after_a_long_first():
    long_a, short_b = list(range(40)), [100, 101, 102]
    assert truncate_pair(long_a, short_b, 17, "halves") == (long_a[:8], short_b)
    assert truncate_pair([1, 2], list(range(100, 130)), 17, "halves") == ([1, 2], list(range(100, 109)))
    firsts = {
        len(truncate_pair(list(range(n)), list(range(m)), 17, "halves")[0])
        for n in (8, 20, 40)
        for m in (3, 30)
    }
    assert firsts == {8}


def test_encoding_has_cls_seps_token_types_and_padding():
    pairs = build_pairs("sop", DOCS, 8, np.random.default_rng(4))
    batch = encode_pairs(pairs, SPECIAL, max_len=9)
    ids, types = batch["input_ids"], batch["token_type_ids"]
    assert ids.shape[1] <= 9 and (ids[:, 0] == SPECIAL.cls).all()
    for row, typ, mask in zip(ids, types, batch["attention_mask"], strict=True):
        n = int(mask.sum())
        seps = (row[:n] == SPECIAL.sep).nonzero().flatten().tolist()
        assert len(seps) == 2 and seps[1] == n - 1
        assert (typ[: seps[0] + 1] == 0).all() and (typ[seps[0] + 1 : n] == 1).all()
        assert (row[n:] == SPECIAL.pad).all()
    assert batch["pair_labels"].tolist() == [p.label for p in pairs]


@pytest.mark.parametrize("max_ngram", [1, 3])
def test_masking_never_touches_special_tokens(max_ngram):
    batch = encode_pairs(build_pairs("nsp", DOCS * 4, 256, np.random.default_rng(5)), SPECIAL, max_len=24)
    ids = batch["input_ids"]
    masked, labels = mask_tokens(ids, SPECIAL, np.random.default_rng(6), max_ngram=max_ngram)
    special = ids < SPECIAL.first_regular
    assert (masked[special] == ids[special]).all()
    assert (labels[special] == IGNORE).all()
    picked = labels != IGNORE
    assert (labels[picked] == ids[picked]).all()
    changed = picked & (masked != ids)
    assert (masked[changed & (masked != SPECIAL.mask)] >= SPECIAL.first_regular).all()
    rate = picked.sum().item() / (~special).sum().item()
    assert 0.13 < rate < 0.17
    shares = [
        (masked[picked] == SPECIAL.mask).float().mean().item(),
        (masked[picked] == ids[picked]).float().mean(),
    ]
    assert 0.75 < shares[0] < 0.85 and 0.07 < float(shares[1]) < 0.15


def test_ngram_masking_masks_spans():
    ids = torch.cat([torch.tensor([[SPECIAL.cls]]), torch.arange(5, 205).view(1, -1)], 1).repeat(64, 1)
    _, labels = mask_tokens(ids, SPECIAL, np.random.default_rng(7), max_ngram=3)
    picked = (labels != IGNORE).int()
    adjacent = (picked[:, 1:] & picked[:, :-1]).sum().item()
    _, labels_1 = mask_tokens(ids, SPECIAL, np.random.default_rng(7), max_ngram=1)
    adjacent_1 = ((labels_1 != IGNORE).int()[:, 1:] & (labels_1 != IGNORE).int()[:, :-1]).sum().item()
    assert adjacent > 2 * adjacent_1
    assert np.allclose(ngram_weights(3), np.array([6, 3, 2]) / 11)


def test_bad_parameters_have_clear_messages():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="Unknown task"):
        build_pairs("nli", DOCS, 4, rng)
    with pytest.raises(ValueError, match="second document"):
        build_pairs("nsp", DOCS[:1], 4, rng)
    with pytest.raises(ValueError, match="No document has 2 segments"):
        build_pairs("sop", [[[7, 8]], [[9]]], 4, rng, construction="cued")
    with pytest.raises(ValueError, match="No document has 4 segments"):
        build_pairs("sop", [[[7], [8], [9]]], 4, rng)
    with pytest.raises(ValueError, match="Unknown pair construction"):
        PairBuilder(DOCS, "random")
    with pytest.raises(ValueError, match="n ≤ 3"):
        mask_tokens(torch.tensor([[2, 9, 3]]), SPECIAL, rng, max_ngram=4)
    with pytest.raises(ValueError, match="Masking rate"):
        mask_tokens(torch.tensor([[2, 9, 3]]), SPECIAL, rng, rate=0.0)
    with pytest.raises(ValueError, match="max_len"):
        encode_pairs(build_pairs("sop", DOCS, 2, rng), SPECIAL, max_len=4)
