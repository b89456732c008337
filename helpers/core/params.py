"""Profiles and parameter validation: papermill parameters are checked before any long work starts.

A notebook names each parameter twice: once in its `parameters` cell (`name = None  # help`) and once in its
profile table, `{name: (smoke, cpu, gpu)}` (a tuple gives one value per profile; any other value is the same in
every profile). Every entry declares a type: the type its values share, or, for a parameter that is None unless
given, the type itself (`"data_path": str`). `resolve(TABLE, globals())` picks the profile, overlays the values the
caller gave, checks every value's type and range, rejects names the notebook does not declare, and records the
result as `params.*`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
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
    """Raise ValueError(message) unless `condition` holds: one sentence on what is wrong and how to fix it, which
    IPython (a notebook, papermill) shows alone, without the traceback above it that would bury it."""
    if not condition:
        error = ValueError(message)
        error._render_traceback_ = lambda: [f"ValueError: {message}"]  # type: ignore[attr-defined]
        raise error


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


def profile_values(table: Mapping[str, Any], profile: str) -> dict[str, Any]:
    """Each parameter's value in one profile of a `{name: (smoke, cpu, gpu)}` table (None for a declared type)."""
    values = {}
    for name, entry in table.items():
        if isinstance(entry, type):
            values[name] = None
        elif isinstance(entry, tuple):
            require(
                len(entry) == len(PROFILES),
                f"Profile table entry {name}={entry!r} must give one value per profile {PROFILES}, or one value "
                "(not a tuple) for all of them.",
            )
            values[name] = entry[PROFILES.index(profile)]
        else:
            values[name] = entry
    return values


def _kind(examples: list[Any]) -> str:
    """The type every profile value of a parameter shares: bool, int, float, str, list or any."""
    present = [v for v in examples if v is not None]
    if not present:
        return "any"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float"
    if all(isinstance(v, str) for v in present):
        return "str"
    if all(isinstance(v, (list, tuple)) for v in present):
        return "list"
    return "any"


_KIND_TEXT = {"bool": "True or False", "int": "a whole number", "float": "a number", "str": "a string"}
_KINDS = {bool: "bool", int: "int", float: "float", str: "str", list: "list"}
_EXAMPLES = {"bool": True, "int": 100, "float": 1.5}


def declared_kind(name: str, entry: Any) -> str:
    """The type a profile table entry declares (bool, int, float, str or list): a type written in place of the
    value (None unless given), else the type its values share; one sentence when it declares none."""
    if isinstance(entry, type):
        require(
            entry in _KINDS,
            f"Profile table entry {name}={entry.__name__} is not a parameter type; use bool, int, float, str or list.",
        )
        return _KINDS[entry]
    kind = _kind(list(entry) if isinstance(entry, tuple) else [entry])
    require(
        kind != "any",
        f"Profile table entry {name}={entry!r} declares no type (None in every profile, or values of different "
        f'types); write its type in place of None, e.g. "{name}": str, so that a value passed for it is checked.',
    )
    return kind


def _fits(kind: str, value: Any) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    return True


def _check_type(name: str, value: Any, kind: str, examples: list[Any]) -> None:
    """One sentence when `value` is not of the type `kind` that the profile table declares for the parameter."""
    example = next((v for v in examples if v is not None), None)
    if kind == "list":
        such_as = f" such as {example!r}" if example is not None else ""
        require(
            isinstance(value, (list, tuple)),
            f"Parameter {name}={value!r} must be a list{such_as}; with papermill pass -y "
            f"'{name}: {list(example or [1, 2])!r}'.",
        )
        item_kind = _kind([item for v in examples if v is not None for item in v])
        for item in value:
            require(
                _fits(item_kind, item),
                f"Parameter {name} holds {item!r}, but its items must each be {_KIND_TEXT.get(item_kind, '')} "
                f"like those of {example!r}.",
            )
    elif kind == "str":
        such_as = f" (e.g. {example!r})" if example is not None else ""
        hint = f"; a file named {value} is passed as ./{value}" if name.endswith("_path") else ""
        require(
            _fits(kind, value),
            f"Parameter {name}={value!r} must be a string{such_as}, not {type(value).__name__}{hint}.",
        )
    elif kind != "any":
        shown = _EXAMPLES[kind] if example is None else example
        such_as = "" if example is None else f" (e.g. {example!r})"
        require(
            _fits(kind, value),
            f"Parameter {name}={value!r} must be {_KIND_TEXT[kind]}{such_as}; pass -p {name} {shown}.",
        )


def _check_range(name: str, value: Any, nonnegative: Iterable[str]) -> None:
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
            _check_range(name, item, nonnegative)
    elif name.endswith("_path"):
        path = Path(value).expanduser()
        where = "" if path.is_absolute() else f" in {Path.cwd()}, where a relative path is read from"
        require(
            path.exists(),
            f"Parameter {name}={str(value)!r} does not exist{where}; pass the path of an existing file or leave it "
            "None.",
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


def undeclared(namespace: Mapping[str, Any], declared: Iterable[str]) -> list[str]:
    """Plain values in a notebook's namespace that its parameters cell does not declare (e.g. injected by papermill).

    Private names, capitalised constants, modules and callables are a notebook's own, never parameters.
    """
    known = set(declared) | {"profile"}
    return sorted(
        name
        for name, value in namespace.items()
        if name not in known
        and name[:1].islower()
        and not isinstance(value, ModuleType)
        and not callable(value)
    )


def resolve(
    table: Mapping[str, Any],
    namespace: Mapping[str, Any],
    nonnegative: Iterable[str] = (),
) -> Params:
    """The profile's values overlaid by the parameters the caller gave (not None), validated and recorded as params.*.

    `namespace` is the notebook's `globals()` after its parameters cell (a test may pass a plain dict): it gives
    `profile` and any parameter set by papermill. Numbers must be > 0, except seeds and the names in
    `nonnegative`, which may be 0.
    """
    extra = undeclared(namespace, table)
    require(
        not extra,
        f"Unknown parameter(s) {', '.join(extra)}: this notebook takes profile, {', '.join(table)}; check the "
        "spelling of -p NAME.",
    )
    kinds = {key: declared_kind(key, entry) for key, entry in table.items()}
    name = resolve_profile(namespace.get("profile", "auto"))
    params = Params(profile_values(table, name))
    per_profile = [profile_values(table, p) for p in PROFILES]
    for key in table:
        given = namespace.get(key)
        if given is not None:
            _check_type(key, given, kinds[key], [values[key] for values in per_profile])
            params[key] = given
    nonnegative = tuple(nonnegative)
    for key, value in params.items():
        _check_range(key, value, nonnegative)
    if "device" in params:
        params["device"] = _resolve_device(params["device"])
    params["profile"] = name
    for key, value in params.items():
        record(f"params.{key}", value)
    _resolved.clear()
    _resolved.update(
        {
            key: {
                **{p: values[key] for p, values in zip(PROFILES, per_profile, strict=True)},
                "this run": params[key],
            }
            for key in table
        }
    )
    return params


# the table `resolve` last read: each parameter's value per profile and in this run
_resolved: dict[str, dict[str, Any]] = {}


def sample_counts(parameter: str) -> dict[str, int]:
    """How many samples the count parameter `parameter` (a number, or a list such as seeds) gives in each profile
    and in this run, from the table `resolve` last read; empty when it holds no such parameter."""
    counts = {}
    for where, value in _resolved.get(parameter, {}).items():
        if isinstance(value, list | tuple):
            counts[where] = len(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            counts[where] = value
    return counts
