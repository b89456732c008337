#!/usr/bin/env bash
# GPU verification in one call: every notebook (00–10; 01–03 report RAPIDS absent when it is) with the gpu profile,
# then every gpu-marked test of the suite.
# Usage (on a CUDA machine, from the project root): bash tests/gpu/run.sh [OUT_DIR]
# Wheels the machine lacks can be carried in .whl/ (see README "GPU verification"); they are installed first.
# GPU_CHECK_PROFILE=smoke runs the same script on a CPU-only machine as a dry run.
set -euo pipefail
out=${1:-reports/gpu}
profile=${GPU_CHECK_PROFILE:-gpu}
python=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  $python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
start=$(date +%s)
status=0
$python -m helpers run --profile "$profile" --only '0[0-9]*,10*' --out "$out" --timeout 240 || status=$?
echo "notebooks took $(( $(date +%s) - start )) s"
FSL_GPU_RUN="$out" $python -m pytest -q -m gpu -p no:cacheprovider tests || status=$?
exit $status
