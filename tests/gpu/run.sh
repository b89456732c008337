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
$python -m helpers run --profile "$profile" --only '00*,0[4-9]*,10*' --out "$out" --timeout 240 || status=$?
# RAPIDS notebooks (01–03): gpu profile when cuDF and cuML work here, else smoke (they then report RAPIDS absent)
rapids_out="$out-rapids"
rapids_profile=$profile
if ! $python -c "import sys; from helpers.core.environment import rapids_status; sys.exit(not rapids_status()['available'])"; then
  rapids_profile=smoke
  echo "RAPIDS is not usable here: notebooks 01–03 run with the smoke profile and report it absent."
fi
$python -m helpers run --profile "$rapids_profile" --only '0[1-3]*' --out "$rapids_out" --timeout 1800 || status=$?
echo "notebooks took $(( $(date +%s) - start )) s"
FSL_GPU_RUN="$out" FSL_GPU_RAPIDS_RUN="$rapids_out" $python -m pytest -q -m gpu -p no:cacheprovider tests || status=$?
exit $status
