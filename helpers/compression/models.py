"""Small models for the compression notebooks (04–08), built only from plain layers.

Every model uses plain nn.Conv2d / nn.BatchNorm2d / nn.ReLU / nn.Linear / nn.LayerNorm and tensor ops (no in-place
activations, no fused fast paths), so torch-pruning can trace its dependency graph, torch.export can capture it,
FlopCounterMode can count it, and quantizers find the layers they replace.
"""

from __future__ import annotations

import math

import torch
from torch import nn

CNN_WIDTHS = (16, 32, 64, 64)
CNN_STRIDES = (1, 2, 2, 1)
CNN_KINDS = ("standard", "separable")


def scaled_widths(width_mult: float, widths: tuple[int, ...] = CNN_WIDTHS) -> tuple[int, ...]:
    """Channel counts multiplied by the MobileNet width multiplier α, rounded, at least 4 each."""
    if width_mult <= 0:
        raise ValueError(f"width_mult={width_mult!r} must be > 0 (MobileNet uses 1.0, 0.75, 0.5, 0.25).")
    return tuple(max(4, int(round(w * width_mult))) for w in widths)


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """Standard 3×3 convolution block: k²·C_in·C_out weights."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


def separable_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """MobileNet depthwise-separable block: 3×3 depthwise (k²·C_in) then 1×1 pointwise (C_in·C_out) weights."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, stride, 1, groups=c_in, bias=False),
        nn.BatchNorm2d(c_in),
        nn.ReLU(),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


class EdgeCNN(nn.Module):
    """A four-block CNN: the first block is always a standard convolution (as in MobileNet), the rest are standard
    (kind='standard') or depthwise-separable (kind='separable'); global average pooling makes it accept any
    input resolution; then one Linear classifier."""

    def __init__(
        self,
        kind: str = "standard",
        in_channels: int = 1,
        num_classes: int = 10,
        width_mult: float = 1.0,
        widths: tuple[int, ...] = CNN_WIDTHS,
        strides: tuple[int, ...] = CNN_STRIDES,
    ) -> None:
        super().__init__()
        if kind not in CNN_KINDS:
            raise ValueError(f"Unknown CNN kind {kind!r}: use one of {', '.join(map(repr, CNN_KINDS))}.")
        if len(widths) != len(strides):
            raise ValueError(f"widths {widths} and strides {strides} must have the same length.")
        self.kind, self.width_mult = kind, width_mult
        channels = scaled_widths(width_mult, widths)
        block = conv_bn_relu if kind == "standard" else separable_block
        layers = [conv_bn_relu(in_channels, channels[0], strides[0])]
        for c_in, c_out, stride in zip(channels[:-1], channels[1:], strides[1:], strict=True):
            layers.append(block(c_in, c_out, stride))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of images (N, C, H, W)."""
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


class MLP(nn.Module):
    """A Linear-heavy multi-layer perceptron on flattened images (the dynamic-quantization target)."""

    def __init__(
        self, in_features: int = 64, num_classes: int = 10, hidden: tuple[int, ...] = (512, 512)
    ) -> None:
        super().__init__()
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden={hidden!r} needs at least one layer width ≥ 1.")
        layers: list[nn.Module] = [nn.Flatten()]
        for width_in, width_out in zip((in_features, *hidden[:-1]), hidden, strict=True):
            layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        layers.append(nn.Linear(hidden[-1], num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of images (any shape (N, ...) whose flattened size is in_features)."""
        return self.net(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention written with Linear layers and matmuls (countable, exportable, quantizable)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}.")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Attend over the token axis of x (N, T, D)."""
        n, t, d = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(n, t, d))


class EncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer: attention and a two-Linear GELU feed-forward, both residual."""

    def __init__(self, dim: int, heads: int, ff_mult: int = 4) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(), nn.Linear(ff_mult * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One encoder layer on tokens (N, T, D)."""
        x = x + self.attn(self.norm1(x))
        return x + self.ff(self.norm2(x))


class TinyTransformer(nn.Module):
    """A small transformer encoder classifier: each image row is one token (C·W features → dim), learned position
    embeddings, `depth` encoder layers, mean pooling, Linear head. Most weights sit in Linear layers."""

    def __init__(
        self,
        input_shape: tuple[int, int, int] = (1, 8, 8),
        num_classes: int = 10,
        dim: int = 128,
        depth: int = 2,
        heads: int = 4,
    ) -> None:
        super().__init__()
        channels, height, width = input_shape
        self.embed = nn.Linear(channels * width, dim)
        self.position = nn.Parameter(torch.zeros(1, height, dim))
        nn.init.normal_(self.position, std=0.02)
        self.layers = nn.Sequential(*[EncoderLayer(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for images (N, C, H, W) of the input_shape given at construction."""
        n, c, h, w = x.shape
        tokens = self.embed(x.permute(0, 2, 1, 3).reshape(n, h, c * w)) + self.position
        return self.head(self.norm(self.layers(tokens)).mean(dim=1))


TEACHER_WIDTH_MULT = (
    1.0  # teacher: the baseline standard CNN itself, so every method compresses the same model
)
STUDENT_WIDTH_MULT = 0.25  # student: the standard CNN at a quarter of the width (~1/16 of the baseline)


def make_cnn(
    kind: str = "standard", width_mult: float = 1.0, in_channels: int = 1, num_classes: int = 10
) -> EdgeCNN:
    """The collection's CNN: kind 'standard' (baseline) or 'separable' (MobileNet-style), scaled by width_mult."""
    return EdgeCNN(kind, in_channels, num_classes, width_mult)


def make_teacher(in_channels: int = 1, num_classes: int = 10) -> EdgeCNN:
    """The distillation teacher: the baseline standard CNN (width ×1)."""
    return make_cnn("standard", TEACHER_WIDTH_MULT, in_channels, num_classes)


def make_student(
    in_channels: int = 1, num_classes: int = 10, width_mult: float = STUDENT_WIDTH_MULT
) -> EdgeCNN:
    """The distillation student: the standard CNN at width ×0.25 (~1/15 of the teacher's parameters)."""
    return make_cnn("standard", width_mult, in_channels, num_classes)


def conv_layers(model: nn.Module, input_shape: tuple[int, int, int]) -> list[dict[str, object]]:
    """Every Conv2d of `model` on one input of `input_shape`: kind, k, C_in, C_out, weights (counted and by the
    formula: standard k²·C_in·C_out, depthwise k²·C_in, pointwise C_in·C_out), output H×W and MACs."""
    sizes: dict[str, tuple[int, int]] = {}
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    hooks = [
        m.register_forward_hook(lambda mod, i, o, n=n: sizes.__setitem__(n, tuple(o.shape[-2:])))
        for n, m in convs
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    rows = []
    for name, conv in convs:
        k, c_in, c_out = conv.kernel_size[0], conv.in_channels, conv.out_channels
        if conv.groups == c_in == c_out and c_in > 1:
            kind, formula = "depthwise", k * k * c_in
        elif k == 1:
            kind, formula = "pointwise", c_in * c_out
        else:
            kind, formula = "standard", k * k * c_in * c_out
        h, w = sizes[name]
        weights = conv.weight.numel()
        rows.append(
            {
                "layer": name,
                "kind": kind,
                "k": k,
                "c_in": c_in,
                "c_out": c_out,
                "weights": weights,
                "formula_weights": formula,
                "out_hw": f"{h}×{w}",
                "macs": weights * h * w,
            }
        )
    return rows


def block_savings(
    standard: EdgeCNN, separable: EdgeCNN, input_shape: tuple[int, int, int]
) -> list[dict[str, object]]:
    """Per block after the first: standard weights k²·C_in·C_out vs separable k²·C_in + C_in·C_out, their measured
    ratio beside the predicted 1/C_out + 1/k², and the MACs of each."""
    std_rows = conv_layers(standard, input_shape)
    sep_rows = conv_layers(separable, input_shape)
    rows = []
    for block in range(1, len(standard.features)):
        full = next(r for r in std_rows if r["layer"].startswith(f"features.{block}."))
        parts = [r for r in sep_rows if r["layer"].startswith(f"features.{block}.")]
        if parts[0]["kind"] != "depthwise":
            raise ValueError("`separable` must be an EdgeCNN of kind 'separable' with the same widths.")
        sep_weights = sum(r["weights"] for r in parts)
        k, c_out = full["k"], full["c_out"]
        rows.append(
            {
                "block": block,
                "k": k,
                "c_in": full["c_in"],
                "c_out": c_out,
                "standard k²·Cin·Cout": full["weights"],
                "separable k²·Cin + Cin·Cout": sep_weights,
                "ratio measured": sep_weights / full["weights"],
                "ratio 1/Cout + 1/k²": 1 / c_out + 1 / k**2,
                "standard MACs": full["macs"],
                "separable MACs": sum(r["macs"] for r in parts),
            }
        )
    return rows
