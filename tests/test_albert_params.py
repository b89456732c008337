"""helpers.albert.configs: the analytic formula equals the instantiated count; published rows are reproduced."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from helpers.albert.claims import TABLE1_CLAIMS, TABLE3_CLAIMS, TABLE4_CLAIMS
from helpers.albert.configs import (
    MODELS,
    SHARINGS,
    TABLE3_EMBEDDINGS,
    Shape,
    analytic_params,
    config_for,
    instantiate,
    load_pretrained,
    param_breakdown,
    save_and_reload,
    scaled,
    table_shape,
)
from helpers.core.claims import REPRODUCED
from helpers.core.model_size import count_params

EXTRA_SHAPES = [
    Shape("bert", 3, 64, 64, 4, 100, "not-shared", vocab=517, positions=33, type_vocab=3),
    Shape("albert", 5, 96, 96, 3, 200, "not-shared", vocab=1000),
    Shape("albert", 2, 128, 16, 8, 256, "all-shared", vocab=250, positions=40),
    Shape("albert", 7, 48, 300, 6, 64, "not-shared", vocab=99),
]


@pytest.mark.parametrize("name", list(MODELS))
def test_formula_matches_table1_models(name):
    assert count_params(instantiate(MODELS[name])).total == analytic_params(MODELS[name])


@pytest.mark.parametrize("sharing", ["all-shared", "not-shared"])
@pytest.mark.parametrize("embedding", TABLE3_EMBEDDINGS)
def test_formula_matches_table3_shapes(embedding, sharing):
    shape = table_shape(embedding, sharing)
    assert count_params(instantiate(shape)).total == analytic_params(shape)


@pytest.mark.parametrize(
    "shape", EXTRA_SHAPES, ids=lambda s: f"{s.family}-L{s.layers}-H{s.hidden}-E{s.embedding}"
)
def test_formula_matches_unusual_shapes(shape):
    assert count_params(instantiate(shape)).total == analytic_params(shape)


@pytest.mark.parametrize("divisor", [2, 8, 16, 32])
def test_formula_matches_scaled_shapes(divisor):
    for shape in MODELS.values():
        small = scaled(shape, divisor)
        assert count_params(instantiate(small)).total == analytic_params(small)


def test_breakdown_places():
    bert, albert = param_breakdown(MODELS["bert-large"]), param_breakdown(MODELS["albert-large"])
    assert bert["projection"] == 0 and albert["projection"] == 128 * 1024 + 1024
    assert albert["attention"] * 24 == bert["attention"] and albert["ffn"] * 24 == bert["ffn"]
    assert bert["pooler"] == albert["pooler"] == 1024 * 1024 + 1024
    shared_attention = param_breakdown(table_shape(768, "shared-attention"))
    assert shared_attention["attention"] * 12 == param_breakdown(table_shape(768, "not-shared"))["attention"]


def test_consistently_stated_rows_are_reproduced():
    """Every published count except ALBERT-xxlarge (235M in Table 1, 233M in the text) is within 1M or 5 %."""
    for name, claim in TABLE1_CLAIMS.items():
        if name != "albert-xxlarge":
            assert claim.rule.verdict(analytic_params(MODELS[name]) / 1e6) == REPRODUCED, name
    for (sharing, e), claim in TABLE3_CLAIMS.items():
        assert claim.rule.verdict(analytic_params(table_shape(e, sharing)) / 1e6) == REPRODUCED
    for (e, sharing), claim in TABLE4_CLAIMS.items():
        assert claim.rule.verdict(analytic_params(table_shape(e, sharing)) / 1e6) == REPRODUCED


def test_one_eighteenth():
    ratio = analytic_params(MODELS["bert-large"]) / analytic_params(MODELS["albert-large"])
    assert 17 < ratio < 20


def test_xxlarge_matches_the_released_checkpoints_not_table1():
    count = analytic_params(MODELS["albert-xxlarge"]) / 1e6
    assert round(count) == 223  # the Hugging Face model card figure
    assert TABLE1_CLAIMS["albert-xxlarge"].rule.verdict(count) != REPRODUCED


def test_config_carries_shape_and_sharing():
    config = config_for(table_shape(256, "not-shared"))
    assert (config.embedding_size, config.num_hidden_groups, config.num_hidden_layers) == (256, 12, 12)
    assert config_for(MODELS["albert-base"]).num_hidden_groups == 1
    assert config_for(MODELS["bert-base"], hidden_act="gelu_new").hidden_act == "gelu_new"


def test_scaled_divides_widths_only():
    small = scaled(MODELS["albert-xxlarge"], 16)
    assert (small.layers, small.heads, small.hidden, small.embedding) == (12, 64, 256, 8)
    assert (small.intermediate, small.vocab, small.positions) == (1024, 1875, 32)


def test_round_trip_is_exact(tmp_path):
    model = instantiate(scaled(MODELS["albert-base"], 32), "cpu")
    reloaded, diff = save_and_reload(model, tmp_path / "albert")
    assert diff == 0.0
    assert count_params(reloaded).total == count_params(model).total
    assert (
        count_params(load_pretrained(tmp_path / "albert")).total == count_params(model).total
    )  # the hub-id path, offline
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), reloaded.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Shape("gpt", 2, 64, 64, 4, 256, "not-shared"), "Unknown family"),
        (lambda: Shape("albert", 2, 64, 64, 4, 256, "half-shared"), "Unknown sharing"),
        (lambda: Shape("bert", 2, 64, 16, 4, 256, "not-shared"), "BERT shape has E = H"),
        (lambda: Shape("albert", 2, 66, 16, 4, 256, "all-shared"), "not a multiple of heads"),
        (lambda: scaled(MODELS["albert-base"], 5), "does not divide"),
        (lambda: scaled(MODELS["albert-base"], 0), "integer ≥ 1"),
        (lambda: config_for(replace(MODELS["albert-base"], sharing="shared-ffn")), "albert.sharing.build"),
    ],
)
def test_bad_shapes_say_what_to_do(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_sharings_are_the_four_of_table4():
    assert SHARINGS == ("all-shared", "shared-attention", "shared-ffn", "not-shared")
