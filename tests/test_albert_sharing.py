"""helpers.albert.sharing: the four Table 4 strategies run forward and backward and hold the counted parameters."""

from __future__ import annotations

import pytest
import torch

from helpers.albert.configs import MODELS, SHARINGS, analytic_params, scaled, table_shape
from helpers.albert.sharing import build, layers_of, tie_sublayer
from helpers.core.model_size import count_params

from .fixtures import one_thread  # noqa: F401 (autouse: each test here runs on one PyTorch thread)

DISTINCT = {"all-shared": (1, 1), "shared-attention": (1, 12), "shared-ffn": (12, 1), "not-shared": (12, 12)}


def small(sharing: str):
    return scaled(table_shape(128, sharing), 16)


@pytest.mark.parametrize("sharing", SHARINGS)
def test_forward_backward_and_count(sharing):
    torch.manual_seed(0)
    shape = small(sharing)
    model = build(shape, "cpu").train()
    output = model(torch.randint(0, shape.vocab, (2, 8)))
    out = output.last_hidden_state
    assert out.shape == (2, 8, shape.hidden) and torch.isfinite(out).all()
    (out.square().mean() + output.pooler_output.square().mean()).backward()
    assert count_params(model).total == analytic_params(shape)
    assert all(p.grad is not None for p in model.parameters())
    layers = layers_of(model)
    assert len(layers) == 12
    distinct = (len({id(layer.attention) for layer in layers}), len({id(layer.ffn) for layer in layers}))
    assert distinct == DISTINCT[sharing]


@pytest.mark.parametrize(("sharing", "part"), [("shared-attention", "attention"), ("shared-ffn", "ffn")])
def test_tied_weights_are_one_tensor(sharing, part):
    model = build(small(sharing), "cpu")
    first, last = layers_of(model)[0], layers_of(model)[-1]
    weight = first.attention.query.weight if part == "attention" else first.ffn.weight
    with torch.no_grad():
        weight.add_(1.0)
    other = last.attention.query.weight if part == "attention" else last.ffn.weight
    assert other is weight
    untied = last.ffn.weight if part == "attention" else last.attention.query.weight
    assert untied is not (first.ffn.weight if part == "attention" else first.attention.query.weight)


def test_shared_module_gets_gradient_from_every_depth():
    """The shared attention's gradient is the sum of what each depth contributes, so it differs from layer 0's."""
    torch.manual_seed(0)
    shape = small("shared-attention")
    model = build(shape, "cpu").eval()
    ids = torch.randint(0, shape.vocab, (2, 8))
    model(ids).last_hidden_state.sum().backward()
    shared_grad = layers_of(model)[0].attention.query.weight.grad.clone()
    not_shared = build(small("not-shared"), "cpu").eval()
    not_shared.load_state_dict(model.state_dict(), strict=False)
    for layer in layers_of(not_shared)[1:]:
        layer.attention.load_state_dict(layers_of(not_shared)[0].attention.state_dict())
    not_shared(ids).last_hidden_state.sum().backward()
    per_depth = sum(layer.attention.query.weight.grad for layer in layers_of(not_shared))
    torch.testing.assert_close(shared_grad, per_depth, rtol=1e-4, atol=1e-6)


def test_bad_requests_say_what_to_do():
    with pytest.raises(ValueError, match="ALBERT shapes"):
        build(MODELS["bert-base"])
    with pytest.raises(ValueError, match="tie 'attention' or 'ffn'"):
        tie_sublayer(build(small("not-shared"), "cpu"), "embeddings")
    with pytest.raises(ValueError, match="not-shared AlbertModel"):
        tie_sublayer(build(small("all-shared"), "cpu"), "attention")
