"""The regimes where a claimed mechanism should show: little labelled data, and an over-fitting wide model.

`labelled_subset` keeps a stratified fraction of the training split (validation and test stay whole), drawn with
the seed. `overfit_sweep` trains the wide MLP on such a fraction once per seed and derives from each seed's model:
magnitude-pruned copies (no fine-tuning, and fine-tuned with the mask kept) at every sparsity, the dense model
fine-tuned for the same epochs (the control: pruning's extra training must not count as pruning's gain), and
copies whose weights are fake-quantized to each bit width (no training: quantization alone).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from helpers.compression.claims import OVERFIT_FRACTION
from helpers.compression.data import EdgeData, stratified_split
from helpers.compression.models import MLP
from helpers.compression.pruning import make_permanent, prunable_layers, unstructured_prune
from helpers.compression.train import TrainConfig, evaluate, fine_tune, train
from helpers.core.params import require
from helpers.core.seeding import seed_everything
from helpers.core.stats import mean_std


def labelled_subset(data: EdgeData, fraction: float, seed: int) -> EdgeData:
    """`data` with a stratified `fraction` of its training images (at least one per class), drawn with `seed`."""
    require(0 < fraction <= 1, f"fraction={fraction!r} must lie in (0, 1]; 1 keeps the whole training split.")
    if fraction == 1:
        return data
    labels = data.y_train.cpu().numpy()
    keep = max(fraction, data.num_classes / len(labels))
    index, _ = stratified_split(labels, (keep, 1 - keep), seed=seed)
    index = torch.as_tensor(np.sort(index))
    return replace(data, x_train=data.x_train[index], y_train=data.y_train[index])


def fraction_config(config: TrainConfig, fraction: float) -> TrainConfig:
    """The shared loop's settings for a labelled `fraction`: epochs and patience × 1/√fraction, so a smaller set
    gets more passes (each has fewer batches) without matching the full set's step count; both arms alike."""
    require(0 < fraction <= 1, f"fraction={fraction!r} must lie in (0, 1].")
    scale = fraction**-0.5
    return replace(
        config, epochs=math.ceil(config.epochs * scale), patience=math.ceil(config.patience * scale)
    )


def fake_quantize_weights(model: nn.Module, bits: int) -> nn.Module:
    """A copy of `model` whose Conv2d/Linear weights and embedding tables are rounded to `bits`-bit integers and
    back (per output channel or table row, affine: scale = (max − min) / (2^bits − 1), zero point =
    round(−min / scale)); activations stay fp32."""
    require(isinstance(bits, int) and 2 <= bits <= 16, f"bits={bits!r} must be an integer between 2 and 16.")
    quantized = copy.deepcopy(model)
    levels = 2**bits - 1
    with torch.no_grad():
        embeddings = [m for m in quantized.modules() if isinstance(m, nn.Embedding)]
        for layer in [layer for _, layer in prunable_layers(quantized)] + embeddings:
            w = layer.weight.flatten(1)
            low = w.min(dim=1, keepdim=True).values.clamp(max=0)
            high = w.max(dim=1, keepdim=True).values.clamp(min=0)
            scale = ((high - low) / levels).clamp(min=1e-12)
            zero = torch.round(-low / scale)
            q = torch.clamp(torch.round(w / scale) + zero, 0, levels)
            layer.weight.copy_(((q - zero) * scale).reshape(layer.weight.shape))
    return quantized


def overfit_sweep(
    data: EdgeData,
    config: TrainConfig,
    seeds: Sequence[int],
    epochs: int,
    sparsities: Sequence[float] = (),
    bits: Sequence[int] = (),
    fraction: float = OVERFIT_FRACTION,
    hidden: tuple[int, ...] = (512, 512),
    build: Callable[[], nn.Module] | None = None,
) -> pd.DataFrame:
    """Test accuracy of the wide MLP (or the model `build` makes) trained on `fraction` of the labels, per seed and
    derived variant.

    The MLP trains for up to `epochs` (patience epochs // 4); fine-tuning, of the pruned copies and of the dense
    control alike, runs epochs // 6 epochs at a tenth of the learning rate. Columns: seed, variant ('dense',
    'dense_finetuned', 'pruned', 'pruned_finetuned', 'fake_quant'), setting (sparsity or bits; 0 for the dense
    rows), test_accuracy, train_accuracy.
    """
    require(isinstance(epochs, int) and epochs >= 6, f"epochs={epochs!r} must be an integer ≥ 6.")
    config = replace(config, epochs=epochs, patience=max(1, epochs // 4))
    finetune_epochs = epochs // 6
    rows = []
    for seed in tqdm(list(seeds), desc=f"over-fit regime ({fraction:.0%} of the labels)", leave=False):
        subset = labelled_subset(data, fraction, seed)
        seed_everything(seed)
        model = build() if build else MLP(data.in_features, data.num_classes, hidden)
        dense = train(model, subset, config, seed, desc="dense").model

        rows.append(_row(seed, "dense", 0, dense, subset))
        if sparsities:
            control = fine_tune(
                copy.deepcopy(dense), subset, config, seed, finetune_epochs, desc="dense fine-tune"
            )
            rows.append(_row(seed, "dense_finetuned", 0, control.model, subset))
        for sparsity in sparsities:
            masked = unstructured_prune(dense, sparsity, permanent=False)
            rows.append(_row(seed, "pruned", sparsity, masked, subset))
            fine_tune(masked, subset, config, seed, finetune_epochs, desc=f"fine-tune {sparsity:.0%}")
            rows.append(_row(seed, "pruned_finetuned", sparsity, make_permanent(masked), subset))
        for b in bits:
            rows.append(_row(seed, "fake_quant", b, fake_quantize_weights(dense, b), subset))
    return pd.DataFrame(rows)


def _row(seed: int, variant: str, setting: float, model: nn.Module, data: EdgeData) -> dict[str, float]:
    """One row of `overfit_sweep`: the model's test and training accuracy."""
    return {
        "seed": seed,
        "variant": variant,
        "setting": setting,
        "test_accuracy": evaluate(model, data.x_test, data.y_test),
        "train_accuracy": evaluate(model, data.x_train, data.y_train),
    }


def per_seed(frame: pd.DataFrame, variant: str, setting: float = 0) -> list[float]:
    """The test accuracies of one variant and setting of an `overfit_sweep` frame, in seed order."""
    picked = frame[(frame["variant"] == variant) & np.isclose(frame["setting"], setting)].sort_values("seed")
    require(len(picked) > 0, f"No rows for variant {variant!r} at setting {setting!r} in the sweep.")
    return [float(a) for a in picked["test_accuracy"]]


def curve(frame: pd.DataFrame, variant: str) -> pd.DataFrame:
    """Mean and std over seeds of one variant's test accuracy at each of its settings."""
    out = []
    for setting, group in frame[frame["variant"] == variant].groupby("setting"):
        summary = mean_std(group["test_accuracy"])
        out.append({"setting": setting, "mean": summary.mean, "std": summary.std, "seeds": summary.n})
    return pd.DataFrame(out)


def plot_curves(
    frame: pd.DataFrame,
    curves: dict[str, str],
    references: dict[str, str],
    xlabel: str,
    title: str,
    ax=None,
):
    """Accuracy (mean ± std over seeds) against the setting for each `curves` variant (label → variant), with each
    `references` variant (a dense model) as a horizontal line and a ±std band; returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    markers = iter("os^Dv")
    for label, variant in curves.items():
        c = curve(frame, variant)
        ax.errorbar(
            c["setting"],
            100 * c["mean"],
            yerr=100 * c["std"],
            fmt=f"{next(markers)}-",
            capsize=3,
            label=label,
        )
    reference_styles = (("--", "black"), (":", "dimgrey"))
    for (label, variant), (style, colour) in zip(references.items(), reference_styles, strict=False):
        c = curve(frame, variant).iloc[0]
        line = ax.axhline(100 * c["mean"], linestyle=style, color=colour, label=f"{label} (± std band)")
        ax.axhspan(
            100 * (c["mean"] - c["std"]), 100 * (c["mean"] + c["std"]), color=line.get_color(), alpha=0.08
        )
    ax.set(xlabel=xlabel, ylabel="test accuracy (%, mean ± std over seeds)", title=title)
    # beside the data, never over it
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
