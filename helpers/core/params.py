"""Profiles and parameter validation: papermill parameters are checked before any long work starts."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from helpers.core.environment import cuda_available
from helpers.core.results import record

PROFILES = ("smoke", "cpu", "gpu")
PROFILE_ENV = "FSL_PROFILE"
DEVICES = ("auto", "cpu", "cuda")


class Params(dict):
    """Resolved parameters, readable as attributes (`p.n_rows`) or keys."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as error:
            raise AttributeError(name) from error


def require(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless `condition` holds: one sentence on what is wrong and how to fix it."""
    if not condition:
        raise ValueError(message)


def resolve_profile(profile: str) -> str:
    """Turn 'auto' (or the FSL_PROFILE environment variable) into smoke, cpu or gpu, checking the GPU is there."""
    choices = ", ".join(repr(p) for p in (*PROFILES, "auto"))
    require(profile in (*PROFILES, "auto"), f"Unknown profile {profile!r}: use one of {choices}.")
    if profile == "auto":
        from_env = os.environ.get(PROFILE_ENV, "auto")
        require(
            from_env in (*PROFILES, "auto"),
            f"The environment variable {PROFILE_ENV}={from_env!r} is not a profile: use one of {choices}.",
        )
        if from_env != "auto":
            profile = from_env
        else:
            return "gpu" if cuda_available() else "cpu"
    require(
        profile != "gpu" or cuda_available(),
        "Profile 'gpu' needs a usable CUDA GPU but none is visible; use profile='cpu', or 'auto' to pick the GPU "
        "only when there is one.",
    )
    return profile


def _check_value(name: str, value: Any, nonnegative: Iterable[str]) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        zero_ok = name in nonnegative or "seed" in name
        require(
            value >= 0 if zero_ok else value > 0,
            f"Parameter {name}={value!r} must be {'≥ 0' if zero_ok else '> 0'}; pass a "
            f"{'non-negative' if zero_ok else 'positive'} number.",
        )
    elif isinstance(value, (list, tuple)):
        require(len(value) > 0, f"Parameter {name} is an empty list; give at least one value.")
        for item in value:
            _check_value(name, item, nonnegative)
    elif name.endswith("_path"):
        require(
            Path(value).expanduser().exists(),
            f"Parameter {name}={str(value)!r} does not exist; pass the path of an existing file or leave it None.",
        )


def _resolve_device(device: str) -> str:
    require(device in DEVICES, f"Unknown device {device!r}: use one of {', '.join(map(repr, DEVICES))}.")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    require(
        device != "cuda" or cuda_available(),
        "device='cuda' was asked for but no usable CUDA GPU is visible; use device='cpu' or 'auto'.",
    )
    return device


def resolve(
    profiles: Mapping[str, Mapping[str, Any]],
    profile: str = "auto",
    nonnegative: Iterable[str] = (),
    **given: Any,
) -> Params:
    """Profile defaults overlaid by explicitly given (non-None) parameters, validated, and recorded as params.*.

    Numbers must be > 0, except seeds and the names in `nonnegative`, which may be 0.
    """
    name = resolve_profile(profile)
    defaults = profiles[name]
    unknown = sorted(set(given) - set(defaults))
    require(
        not unknown, f"Unknown parameter(s) {', '.join(unknown)}; this notebook takes {', '.join(defaults)}."
    )
    params = Params(defaults)
    params.update({k: v for k, v in given.items() if v is not None})
    nonnegative = tuple(nonnegative)
    for key, value in params.items():
        _check_value(key, value, nonnegative)
    if "device" in params:
        params["device"] = _resolve_device(params["device"])
    params["profile"] = name
    for key, value in params.items():
        record(f"params.{key}", value)
    return params
