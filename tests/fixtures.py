"""Fixtures shared by a few test modules (tests/conftest.py holds the session-wide ones).

A module takes one by importing it: `from .fixtures import one_thread  # noqa: F401` (an autouse fixture then
applies to every test of that module, and only there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One PyTorch thread: these tiny models run faster, and far faster on a machine shared with other jobs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
