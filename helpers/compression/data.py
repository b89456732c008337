"""Image data for the compression notebooks (04–08): a fixed stratified split as normalised torch tensors.

The default is scikit-learn's handwritten digits (1,797 images of 8×8 pixels, shipped with scikit-learn, so no
download). `dataset="fashion_mnist"` or `"cifar10"` loads the torchvision datasets when torchvision is installed;
they are downloaded only when `download=True` is passed explicitly. Every dataset comes back shaped (N, C, H, W)
for CNNs; MLPs flatten it themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DATASETS = ("digits", "fashion_mnist", "cifar10")
SPLIT_SEED = 0  # the split is fixed: training seeds vary the model, never the held-out images


@dataclass(frozen=True)
class EdgeData:
    """A dataset split into train/val/test tensors: x float32 (N, C, H, W) normalised with train statistics, y int64."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image."""
        return tuple(self.x_train.shape[1:])

    @property
    def in_channels(self) -> int:
        """Number of image channels."""
        return int(self.x_train.shape[1])

    @property
    def in_features(self) -> int:
        """Number of values in one flattened image (the MLP input size)."""
        return int(np.prod(self.input_shape))

    def sizes(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def to(self, device: str) -> EdgeData:
        """The same data with every tensor on `device` (e.g. 'cuda')."""
        moved = {
            k: getattr(self, k).to(device)
            for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        }
        return EdgeData(self.name, num_classes=self.num_classes, **moved)


def stratified_split(
    labels: np.ndarray, fractions: tuple[float, ...], seed: int = SPLIT_SEED
) -> list[np.ndarray]:
    """Indices of a stratified split of `labels` into parts with the given fractions (which must sum to 1)."""
    if not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"Split fractions {fractions} must be positive and sum to 1, e.g. (0.6, 0.2, 0.2).")
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    bounds = np.cumsum(fractions)[:-1]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cuts = np.round(bounds * len(members)).astype(int)
        for part, chunk in zip(parts, np.split(members, cuts), strict=True):
            part.extend(chunk.tolist())
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def _subsample(labels: np.ndarray, limit: int | None, seed: int = SPLIT_SEED) -> np.ndarray:
    """Stratified subset of at most `limit` indices (all indices when limit is None)."""
    if limit is None or limit >= len(labels):
        return np.arange(len(labels))
    keep, _ = stratified_split(labels, (limit / len(labels), 1 - limit / len(labels)), seed)
    return keep


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8), values 0..16
    labels = bunch.target.astype(np.int64)
    fit, test = stratified_split(labels, (0.8, 0.2))
    return images[fit], labels[fit], images[test], labels[test]


def _torchvision(
    name: str, root: Path, download: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        import torchvision
    except ImportError as error:
        raise ValueError(
            f"dataset={name!r} needs torchvision, which is not installed; `pip install torchvision` or use "
            "dataset='digits'."
        ) from error
    cls = {"fashion_mnist": torchvision.datasets.FashionMNIST, "cifar10": torchvision.datasets.CIFAR10}[name]
    try:
        train = cls(root=str(root), train=True, download=download)
        test = cls(root=str(root), train=False, download=download)
    except RuntimeError as error:
        raise ValueError(
            f"dataset={name!r} is not in {root} ({error}); pass download=True once to fetch it (needs network)."
        ) from error

    def arrays(split) -> tuple[np.ndarray, np.ndarray]:
        images = np.asarray(split.data, dtype=np.float32)
        images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)  # → (N, C, H, W)
        return images, np.asarray(split.targets, dtype=np.int64)

    return (*arrays(train), *arrays(test))


def load_data(
    dataset: str = "digits",
    val_fraction: float = 0.2,
    limit: int | None = None,
    download: bool = False,
    root: Path | None = None,
) -> EdgeData:
    """Load `dataset` with a fixed stratified train/val/test split, normalised with the training mean and std.

    digits: 60/20/20 % train/val/test of 1,797 images; torchvision datasets: their own test set, and `val_fraction`
    of their training set for validation. `limit` keeps a stratified subset of at most that many images per split.
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}: use one of {', '.join(map(repr, DATASETS))}.")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction={val_fraction!r} must lie strictly between 0 and 1, e.g. 0.2.")
    if limit is not None and limit < 10:
        raise ValueError(f"limit={limit!r} is too small; keep at least 10 images per split, or None for all.")
    if dataset == "digits":
        x_fit, y_fit, x_test, y_test = _digits()
        val_fraction = 0.25  # 0.25 of the 80 % = 20 % of all images
    else:
        from helpers.core.results import cache_dir

        x_fit, y_fit, x_test, y_test = _torchvision(dataset, root or cache_dir() / "torchvision", download)
    train, val = stratified_split(y_fit, (1 - val_fraction, val_fraction))
    train, val = train[_subsample(y_fit[train], limit)], val[_subsample(y_fit[val], limit)]
    test = _subsample(y_test, limit)
    mean, std = x_fit[train].mean(), x_fit[train].std()

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy((x - mean) / std).float(), torch.from_numpy(y)

    return EdgeData(
        dataset,
        *tensors(x_fit[train], y_fit[train]),
        *tensors(x_fit[val], y_fit[val]),
        *tensors(x_test[test], y_test[test]),
        num_classes=int(y_fit.max()) + 1,
    )


def latency_input(data: EdgeData, batch: int, resolution: int | None = None) -> torch.Tensor:
    """A batch of `batch` test images for timing, bilinearly upsampled to resolution×resolution when given.

    Latency does not depend on pixel values, so a larger resolution shows how a network scales on bigger inputs;
    only resolution-agnostic models (CNNs with global pooling) accept it.
    """
    if batch < 1:
        raise ValueError(f"batch={batch!r} must be ≥ 1.")
    index = torch.arange(batch) % len(data.x_test)
    x = data.x_test[index]
    if resolution is None or resolution == x.shape[-1]:
        return x.contiguous()
    if resolution < x.shape[-1]:
        raise ValueError(
            f"resolution={resolution} is below the native {x.shape[-1]} pixels; pass None or larger."
        )
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False).contiguous()
