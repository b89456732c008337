"""Which GPU extra of pyproject.toml this machine can use (today the RAPIDS ones, `rapids-cu12` and `rapids-cu13`):
CUDA major from `nvidia-smi`, a GPU of compute capability ≥ 7.0. Install tooling; it knows no topic's code.

Standard library only, so `make run` can ask before the virtual environment exists:
`python3 helpers/collection/gpu_extra.py` prints the extra (e.g. `rapids-cu12`) or nothing, and one line on
stderr saying why not.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

MIN_CAPABILITY = 7.0


def choose(smi_report: str, capabilities: str) -> tuple[str, str]:
    """The extra for an `nvidia-smi` report and its `--query-gpu=compute_cap` lines, or '' and why not."""
    found = re.search(r"CUDA Version: (\d+)", smi_report)
    cuda = int(found.group(1)) if found else 0
    caps = [float(c) for c in re.findall(r"\d+\.\d+", capabilities)]
    if cuda < 12:
        return (
            "",
            f"no RAPIDS extra: it needs a CUDA 12 or newer driver; nvidia-smi reports CUDA {cuda or 'unknown'}",
        )
    if not caps or min(caps) < MIN_CAPABILITY:
        return (
            "",
            f"no RAPIDS extra: it needs compute capability ≥ {MIN_CAPABILITY}; the GPU reports {capabilities.strip() or 'none'}",
        )
    extra = "rapids-cu13" if cuda >= 13 else "rapids-cu12"
    return extra, f"{extra}: CUDA {cuda} driver, compute capability {min(caps)}"


def detect() -> tuple[str, str]:
    """The extra for this machine (nvidia-smi absent: '' and why)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "", "no RAPIDS extra: no NVIDIA driver (nvidia-smi not found)"
    report = subprocess.run([smi], capture_output=True, text=True).stdout
    query = [smi, "--query-gpu=compute_cap", "--format=csv,noheader"]
    return choose(report, subprocess.run(query, capture_output=True, text=True).stdout)


if __name__ == "__main__":
    extra, why = detect()
    print(why, file=sys.stderr)
    print(extra)
