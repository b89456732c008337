"""Narrow filters for library messages that tell a reader nothing about the measurement (applied on import).

Each filter names the library, the exact message and why it is safe to hide; anything else still shows.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class _DropMessages(logging.Filter):
    """Drop the records of one logger whose message matches a pattern."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


# logger → message pattern → why it is noise
LOG_FILTERS: dict[str, tuple[str, str]] = {
    "torchao": (
        r"^Failed to load .*\.so",
        "torchao ships optional CUDA/C++ kernels built for other torch versions; it falls back to its Python path.",
    ),
    "torch.utils._pytree": (
        r"is an Enum subclass and is now natively supported by torch\.compile",
        "torchao registers its enums with a torch API that now deprecates this; nothing a reader can act on.",
    ),
    "": (
        r"^Please consider to run pre-processing before quantization",
        "onnxruntime.quantization advises shape inference before quantizing (on the root logger); the blocks it "
        "quantizes here are two MatMuls with known shapes.",
    ),
    "mlflow.store.db.utils": (
        r"(Creating initial MLflow database tables|Updating database tables)",
        "routine set-up of the fresh SQLite tracking store each run creates.",
    ),
    "mlflow.sklearn": (
        r"Saving scikit-learn models in the pickle or cloudpickle format",
        "the warning is about loading untrusted pickles; the models here are the notebook's own.",
    ),
}

# (category, message pattern, why)
WARNING_FILTERS: list[tuple[type[Warning], str, str]] = [
    (
        FutureWarning,
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        "raised inside torch/torchao when they copy their own tree specs; not caused by notebook code.",
    ),
    (
        UserWarning,
        r"Int8Tensor does not implement _stable_hash_for_caching",
        "torchao's int8 tensor cannot enter Inductor's on-disk autograd cache, so a later process compiles it "
        "again; the compiled code and its speed are the same.",
    ),
]


def silence_known_noise() -> None:
    """Install the filters above (idempotent)."""
    for name, (pattern, _why) in LOG_FILTERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(pattern))
    for category, pattern, _why in WARNING_FILTERS:
        warnings.filterwarnings("ignore", message=pattern, category=category)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null, restoring it afterwards: torch.profiler's C++ side (kineto) writes
    `profiler_start`/`profiler_stop` lines there that no Python filter can reach."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
