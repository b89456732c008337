"""Seed every random number generator the notebooks use."""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) with `seed` and return it for recording."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed
