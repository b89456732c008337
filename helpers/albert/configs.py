"""ALBERT (Lan et al., ICLR 2020) model shapes of Tables 1, 3 and 4 and an exact parameter formula."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from helpers.core.params import require

SHARINGS = ("all-shared", "shared-attention", "shared-ffn", "not-shared")
TABLE3_EMBEDDINGS = (64, 128, 256, 768)
TABLE4_EMBEDDINGS = (768, 128)


@dataclass(frozen=True)
class Shape:
    """A BERT or ALBERT encoder shape: L layers, hidden H, embedding E, heads, FFN size, vocabulary and sharing."""

    family: str
    layers: int
    hidden: int
    embedding: int
    heads: int
    intermediate: int
    sharing: str
    vocab: int = 30_000
    positions: int = 512
    type_vocab: int = 2

    def __post_init__(self) -> None:
        require(self.family in ("bert", "albert"), f"Unknown family {self.family!r}: use 'bert' or 'albert'.")
        require(
            self.sharing in SHARINGS, f"Unknown sharing {self.sharing!r}: use one of {', '.join(SHARINGS)}."
        )
        require(
            self.family == "albert" or (self.sharing == "not-shared" and self.embedding == self.hidden),
            "A BERT shape has E = H and no sharing; use family='albert' to factorize or share.",
        )
        require(
            self.hidden % self.heads == 0,
            f"hidden={self.hidden} is not a multiple of heads={self.heads}; pick a hidden size the heads divide.",
        )


def _bert(layers: int, hidden: int, heads: int) -> Shape:
    return Shape("bert", layers, hidden, hidden, heads, 4 * hidden, "not-shared")


def _albert(layers: int, hidden: int, heads: int, embedding: int = 128, sharing: str = "all-shared") -> Shape:
    return Shape("albert", layers, hidden, embedding, heads, 4 * hidden, sharing)


# Table 1 of the paper (V = 30,000, FFN = 4H, H/64 heads).
MODELS: dict[str, Shape] = {
    "bert-base": _bert(12, 768, 12),
    "bert-large": _bert(24, 1024, 16),
    "albert-base": _albert(12, 768, 12),
    "albert-large": _albert(24, 1024, 16),
    "albert-xlarge": _albert(24, 2048, 32),
    "albert-xxlarge": _albert(12, 4096, 64),
}


def table_shape(embedding: int, sharing: str) -> Shape:
    """ALBERT-base (L12, H768) with embedding size E and a sharing strategy, as in Tables 3 and 4."""
    return replace(MODELS["albert-base"], embedding=embedding, sharing=sharing)


def scaled(shape: Shape, divisor: int) -> Shape:
    """The shape with every width (H, E, FFN, vocabulary, positions) divided by `divisor`; layers and heads kept."""
    require(isinstance(divisor, int) and divisor >= 1, f"width divisor {divisor!r} must be an integer ≥ 1.")
    hidden = shape.hidden // divisor
    require(
        hidden * divisor == shape.hidden and hidden % shape.heads == 0 and shape.embedding % divisor == 0,
        f"width divisor {divisor} does not divide H={shape.hidden} and E={shape.embedding} into whole heads of "
        f"{shape.heads}; use a power of two up to 16.",
    )
    return replace(
        shape,
        hidden=hidden,
        embedding=shape.embedding // divisor,
        intermediate=shape.intermediate // divisor,
        vocab=shape.vocab // divisor,
        positions=shape.positions // divisor,
    )


def copies(shape: Shape) -> tuple[int, int]:
    """How many distinct attention blocks and FFN blocks the shape holds."""
    attention = 1 if shape.sharing in ("all-shared", "shared-attention") else shape.layers
    ffn = 1 if shape.sharing in ("all-shared", "shared-ffn") else shape.layers
    return attention, ffn


def param_breakdown(shape: Shape) -> dict[str, int]:
    """Parameters per place: embeddings, E→H projection, attention, FFN, pooler (sums to the exact count)."""
    h, e, i = shape.hidden, shape.embedding, shape.intermediate
    n_attention, n_ffn = copies(shape)
    return {
        "embeddings": (shape.vocab + shape.positions + shape.type_vocab) * e + 2 * e,
        "projection": e * h + h if shape.family == "albert" else 0,
        "attention": n_attention * (4 * (h * h + h) + 2 * h),
        "ffn": n_ffn * (h * i + i + i * h + h + 2 * h),
        "pooler": h * h + h,
    }


def analytic_params(shape: Shape) -> int:
    """Exact parameter count of the Hugging Face model (with pooler) for this shape."""
    return sum(param_breakdown(shape).values())


def config_for(shape: Shape, **overrides: Any):
    """A transformers BertConfig or AlbertConfig with this shape; keyword overrides win."""
    from transformers import AlbertConfig, BertConfig

    common = {
        "vocab_size": shape.vocab,
        "hidden_size": shape.hidden,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "intermediate_size": shape.intermediate,
        "max_position_embeddings": shape.positions,
        "type_vocab_size": shape.type_vocab,
    }
    if shape.family == "bert":
        return BertConfig(**common, **overrides)
    require(
        shape.sharing in ("all-shared", "not-shared"),
        f"AlbertConfig expresses only all-shared or not-shared, not {shape.sharing!r}; "
        "use helpers.albert.sharing.build for partial sharing.",
    )
    groups = 1 if shape.sharing == "all-shared" else shape.layers
    return AlbertConfig(**common, embedding_size=shape.embedding, num_hidden_groups=groups, **overrides)


def instantiate(shape: Shape, device: str = "meta", **overrides: Any):
    """BertModel or AlbertModel (with pooler) for this shape, built on `device` ('meta' allocates no memory)."""
    import torch
    from transformers import AlbertModel, BertModel

    cls = BertModel if shape.family == "bert" else AlbertModel
    with torch.device(device):
        return cls(config_for(shape, **overrides))


def save_and_reload(model: Any, folder: Path) -> tuple[Any, float]:
    """Save with save_pretrained, reload with from_pretrained; return the copy and the largest output difference."""
    import torch

    model.save_pretrained(folder)
    reloaded = type(model).from_pretrained(folder)
    model.eval()
    reloaded.eval()
    ids = torch.arange(16).remainder(model.config.vocab_size).unsqueeze(0)
    with torch.no_grad():
        diff = (model(ids).last_hidden_state - reloaded(ids).last_hidden_state).abs().max().item()
    return reloaded, diff


def load_pretrained(source: str | Path):
    """AlbertModel.from_pretrained on a hub id or a local folder (a hub id needs the network or a filled cache)."""
    from transformers import AlbertModel

    return AlbertModel.from_pretrained(str(source))
