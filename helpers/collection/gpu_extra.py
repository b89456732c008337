"""Which GPU extra of pyproject.toml this machine can use (today the RAPIDS ones, `rapids-cu12` and `rapids-cu13`),
from the driver's CUDA major and version and the GPUs' compute capability, as `nvidia-smi` reports them; and which
RAPIDS packages to install beside a runtime's own. Install tooling; it knows no topic's code.

Standard library only, so `make run` can ask before the virtual environment exists, and the cloud setup cell
(`helpers.collection.cloud`) can run it as a script right after installing this package without its dependencies:
`python3 helpers/collection/gpu_extra.py` prints the extra (e.g. `rapids-cu12`) or nothing, and one line on stderr
saying why; `python3 helpers/collection/gpu_extra.py --install PACKAGE` installs what the runtime lacks of
PACKAGE's dependencies and that extra.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import shutil
import subprocess
import sys

# RAPIDS 26.10's platform support (docs.rapids.ai/platform-support): for the builds of each CUDA major, the oldest
# driver (major version) and the lowest compute capability they run on. Newest first: the first that fits wins.
SUPPORT = {13: (580, 7.5), 12: (535, 7.0)}
SMI_TIMEOUT_S = 20  # nvidia-smi can hang on a wedged driver (as in helpers.core.environment)
# a version comparison's outcome (-1, 0, 1) each specifier operator accepts
OPERATORS = {">=": (0, 1), "<=": (-1, 0), ">": (1,), "<": (-1,), "==": (0,), "!=": (-1, 1)}


def choose(capabilities: list[float], driver: str, cuda: int) -> tuple[str, str]:
    """The extra for GPUs of these compute capabilities under this driver version and its CUDA major, or '' and
    why not (one sentence)."""
    driver_major = int(m.group(0)) if (m := re.match(r"\d+", driver)) else 0
    lowest = min(capabilities, default=0.0)
    for major, (min_driver, min_capability) in SUPPORT.items():
        if cuda >= major and driver_major >= min_driver and lowest >= min_capability:
            found = f"driver {driver} (CUDA {cuda}), compute capability {lowest}"
            return f"rapids-cu{major}", f"RAPIDS extra rapids-cu{major}: {found}"
    needs = "; ".join(
        f"CUDA {k} builds need driver ≥ {d} and compute capability ≥ {c}" for k, (d, c) in SUPPORT.items()
    )
    found = f"driver {driver or 'unknown'} (CUDA {cuda or 'unknown'})"
    capability = f"compute capability {lowest or 'unknown'}"
    return "", f"No RAPIDS extra: {needs}; this machine has {found}, {capability}"


def _smi(*arguments: str) -> str:
    """nvidia-smi's output for `arguments`, '' when it fails or takes longer than SMI_TIMEOUT_S."""
    try:
        done = subprocess.run(
            ["nvidia-smi", *arguments], capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def detect() -> tuple[str, str]:
    """The extra for this machine and why (nvidia-smi absent, failing or hanging: '' and why)."""
    if shutil.which("nvidia-smi") is None:
        return "", "No RAPIDS extra: no NVIDIA driver (nvidia-smi not found)"
    header = _smi()
    if not header:
        return "", f"No RAPIDS extra: nvidia-smi failed or gave no answer within {SMI_TIMEOUT_S} s"
    driver = re.search(r"Driver Version: ([\d.]+)", header)
    cuda = re.search(r"CUDA Version: (\d+)", header)
    listed = _smi("--query-gpu=compute_cap", "--format=csv,noheader")
    capabilities = [float(c) for c in re.findall(r"\d+\.\d+", listed)]
    return choose(capabilities, driver.group(1) if driver else "", int(cuda.group(1)) if cuda else 0)


def release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string, e.g. '26.10.2' → (26, 10, 2)."""
    return tuple(int(p) for p in re.findall(r"\d+", re.split(r"[+a-z]", version)[0])[:3])


def satisfies(version: str, specifier: str) -> bool:
    """Whether `version` meets a specifier of plain numeric clauses, e.g. '>=26.6,<27'."""
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        operator, bound = re.fullmatch(r"(>=|<=|==|!=|<|>)\s*([\d.]+)", clause).groups()
        mine, theirs = release(version), release(bound)
        width = max(len(mine), len(theirs))
        mine, theirs = mine + (0,) * (width - len(mine)), theirs + (0,) * (width - len(theirs))
        if (mine > theirs) - (mine < theirs) not in OPERATORS[operator]:
            return False
    return True


def requirement_name(requirement: str) -> str:
    """The distribution a requirement names, e.g. 'cudf-cu12' of 'cudf-cu12>=26.6,<27; extra == "x"'."""
    return re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)


def rapids_plan(requirements: list[str], installed: dict[str, str | None]) -> tuple[list[str], str]:
    """What to install of the chosen extra's RAPIDS `requirements` (e.g. 'cudf-cu12>=26.6,<27'), given the version
    the runtime has of each RAPIDS distribution of any extra (None: absent): all of them (it has none), or nothing
    and why (one sentence). Never a mixed set: cuML pins cuDF to its own release, which pins pandas, so a runtime's
    partial, other-CUDA or other-release set is reused when it is complete and matching, else left alone."""
    wanted = {requirement_name(r): r[len(requirement_name(r)) :].strip() for r in requirements}
    present = {name: version for name, version in installed.items() if version}
    if not present:
        return list(requirements), f"Installing the complete RAPIDS set {', '.join(requirements)}"
    have = ", ".join(f"{name} {version}" for name, version in present.items())
    complete = set(present) == set(wanted) and all(satisfies(v, wanted[n]) for n, v in present.items())
    if complete and len({release(v)[:2] for v in present.values()}) == 1:
        return [], f"The runtime's RAPIDS ({have}) is a complete matching set, so it is used as it is"
    return [], (
        f"The runtime has RAPIDS {have}, not a complete set matching {', '.join(requirements)}, and installing "
        "beside it would mix releases, so RAPIDS is left as it is"
    )


def _installed(name: str) -> str | None:
    """The installed version of distribution `name`, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _extra_of(requirement: str) -> str:
    """The extra a requirement belongs to ('' for a core dependency), e.g. 'rapids-cu12'."""
    named = re.findall(r"extra\s*==\s*['\"]([^'\"]+)", requirement.partition(";")[2])
    return named[0] if named else ""


def pip_install(*arguments: str) -> None:
    """`pip install -q ARGUMENTS` into this interpreter; a failure raises one sentence."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *arguments])
    if done.returncode != 0:
        raise RuntimeError(
            f"pip could not install {' '.join(arguments)}: read its message above, then run this cell again."
        )


def install_dependencies(package: str) -> None:
    """Install what the runtime lacks of installed `package`'s core dependencies (the runtime's own copy of one is
    kept, whatever its version) and, when this machine's GPU and driver can run one, its RAPIDS extra as a complete
    set (`rapids_plan`); print what was chosen and why."""
    extra = ""
    if shutil.which("nvidia-smi"):
        extra, why = detect()
        print(why + ".")
    importlib.invalidate_caches()
    requires = importlib.metadata.requires(package) or []
    lacking = [
        r.partition(";")[0].strip()
        for r in requires
        if not _extra_of(r) and not _installed(requirement_name(r))
    ]
    rapids = []
    if extra:
        names = {requirement_name(r) for r in requires if _extra_of(r).startswith("rapids-")}
        wanted = [r.partition(";")[0].strip() for r in requires if _extra_of(r) == extra]
        rapids, why = rapids_plan(wanted, {name: _installed(name) for name in sorted(names)})
        print(why + ".")
    if lacking + rapids:
        pip_install(*lacking, *rapids)


def main(arguments: list[str]) -> int:
    """The script: print the extra (and why, on stderr), or with `--install PACKAGE` install its dependencies."""
    if arguments[:1] == ["--install"] and len(arguments) == 2:
        try:
            install_dependencies(arguments[1])
        except RuntimeError as failure:
            print(failure, file=sys.stderr)
            return 1
        return 0
    extra, why = detect()
    print(why, file=sys.stderr)
    print(extra)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
