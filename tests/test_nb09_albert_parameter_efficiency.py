"""09_albert_parameter_efficiency: counts match the formula and the paper, every speed configuration is measured."""

from __future__ import annotations

import pytest

from helpers.albert.claims import TABLE4_M
from helpers.albert.configs import MODELS, SHARINGS, TABLE3_EMBEDDINGS, analytic_params, table_shape
from helpers.core.claims import NOT_MEASURABLE, REPRODUCED

STEM = "09_albert_parameter_efficiency"


@pytest.fixture(scope="module")
def smoke(smoke_run):
    return smoke_run(STEM)


def test_instantiated_counts_equal_the_formula(smoke):
    for name, shape in MODELS.items():
        assert (
            smoke.results[f"params.{name}"]
            == smoke.results[f"params_analytic.{name}"]
            == analytic_params(shape)
        )


def test_table3_and_table4_counts(smoke):
    for e in TABLE3_EMBEDDINGS:
        assert smoke.results[f"table3.shared.E{e}"] == analytic_params(table_shape(e, "all-shared"))
        assert smoke.results[f"table3.not-shared.E{e}"] == analytic_params(table_shape(e, "not-shared"))
    not_shared = [smoke.results[f"table3.not-shared.E{e}"] for e in TABLE3_EMBEDDINGS]
    assert not_shared == sorted(not_shared)
    for e in TABLE4_M:
        order = (
            "all-shared",
            "shared-ffn",
            "shared-attention",
            "not-shared",
        )  # an FFN block is 2x attention's
        row = [smoke.results[f"table4.E{e}.{s}"] for s in order]
        assert row == sorted(row) and len(set(row)) == 4
        assert row[0] == smoke.results[f"table3.shared.E{e}"]


def test_every_speed_configuration_is_measured(smoke):
    for variant in ("default", "controlled"):
        for name in MODELS:
            prefix = f"speed.{variant}.{name}"
            assert smoke.results[f"{prefix}.step_s"] > 0
            assert smoke.results[f"{prefix}.peak_mem_bytes"] > 0
            assert smoke.results[f"{prefix}.vs_bert_large"] == pytest.approx(
                smoke.results[f"speed.{variant}.bert-large.step_s"] / smoke.results[f"{prefix}.step_s"]
            )
        assert smoke.results[f"speed.{variant}.bert-large.vs_bert_large"] == 1.0
    # same layers and widths, but BERT-large holds 19x the weights and AdamW state
    assert (
        smoke.results["speed.default.bert-large.peak_mem_bytes"]
        > smoke.results["speed.default.albert-large.peak_mem_bytes"]
    )


def test_width_sweep_and_memory_claims(smoke):
    widths = sorted({int(k.split(".")[1][1:]) for k in smoke.results if k.startswith("sweep.H")})
    assert widths == [1024 // d for d in sorted(smoke.results["params.sweep_divisors"], reverse=True)]
    for width in widths:
        for variant in ("default", "controlled"):
            prefix = f"sweep.H{width}.{variant}"
            bert = smoke.results[f"sweep.H{width}.default.bert-large.step_s"]
            albert = smoke.results[f"{prefix}.albert-large.step_s"]
            assert smoke.results[f"{prefix}.speed_ratio"] == pytest.approx(bert / albert)
            peaks = [
                smoke.results[f"sweep.H{width}.{v}.{n}.peak_mem_bytes"]
                for v, n in (("default", "bert-large"), (variant, "albert-large"))
            ]
            assert smoke.results[f"{prefix}.memory_ratio"] == pytest.approx(peaks[0] / peaks[1])
    for variant in ("default", "controlled"):
        widest = f"sweep.H{widths[-1]}.{variant}"
        assert smoke.claim(f"albert.speed.{variant}.albert-large")["measured"] == pytest.approx(
            smoke.results[f"{widest}.speed_ratio"]
        )
        memory = smoke.claim(f"albert.memory.{variant}.albert-large")
        assert memory["measured"] == pytest.approx(smoke.results[f"{widest}.memory_ratio"])
        expected = (
            "reproduced"
            if memory["measured"] >= 1.1
            else "partly reproduced"
            if memory["measured"] >= 1
            else "not reproduced"
        )
        assert memory["verdict"] == expected
    assert smoke.results["precision.dtype"] == "float32"  # the CPU trains in fp32


def test_claims_follow_the_counts(smoke):
    for name in MODELS:
        if name != "albert-xxlarge":
            assert smoke.claim(f"albert.table1.{name}")["verdict"] == REPRODUCED
    for e in TABLE4_M:
        for sharing in SHARINGS:
            assert smoke.claim(f"albert.table4.E{e}.{sharing}")["verdict"] == REPRODUCED
    ratio = smoke.claim("albert.params_ratio_large")
    assert ratio["verdict"] == REPRODUCED and 17 < ratio["measured"] < 20
    for claim_id in ("albert.speed.default.albert-large", "albert.speed.controlled.albert-large"):
        claim = smoke.claim(claim_id)
        assert claim["verdict"] != NOT_MEASURABLE and claim["measured"] > 0


def test_round_trip_and_cost_model(smoke):
    assert smoke.results["roundtrip.max_abs_diff"] == 0.0
    allreduce = {name: smoke.results[f"allreduce.{name}.s"] for name in MODELS}
    assert allreduce["bert-large"] / allreduce["albert-large"] == pytest.approx(
        smoke.results["params.bert-large"] / smoke.results["params.albert-large"]
    )
    assert smoke.results["memory.bert-large.adam_state_bytes"] == 8 * smoke.results["params.bert-large"]
