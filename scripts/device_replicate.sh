#!/usr/bin/env bash
# Train full-protocol runs on a borrowed CUDA machine for a fixed time, and pack every run that finished.
#
#   scripts/device_replicate.sh SECONDS 'RUNNER ARGS' ['RUNNER ARGS' ...]
#
# Each quoted argument is one `python -m fa_lab replicate` call (experiments and options, e.g.
# 'all --seeds 1,2 --jobs 12'); the calls run side by side on one results folder (their claims split the work)
# and are stopped (SIGTERM: the runs in flight are lost, finished ones are kept) SECONDS after the start.
# The results folder starts as a copy of ./results, so runs already committed are skipped. Finished runs
# (JSON and Exp 3's .npz) are packed into $OUT/results.tgz every 30 s and at the end; unpack it in the
# repository root: `tar xzf results.tgz -C results`. MNIST is read from $FA_LAB_DATA (carry its raw .gz files along).
#
# Before training: `tests/test_graphs.py` checks on this GPU that a recorded CUDA graph trains what eager
# CUDA training trains; if it fails, the runners train eagerly (FA_LAB_CUDA_GRAPHS=0). CUDA MPS is started
# when present, so the workers' kernels run side by side on the one GPU.
set -u
budget=${1:?usage: scripts/device_replicate.sh SECONDS "RUNNER ARGS" ...}
shift
out=${OUT:-/tmp/fa_lab_out}
res=/tmp/fa_lab_results
mkdir -p "$out"
rm -rf "$res" && mkdir -p "$res" && cp -r results/full "$res/" 2>/dev/null
touch /tmp/fa_lab_start
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
python=${PYTHON:-python3}  # DEVICE=cpu PYTHON=.venv/bin/python: a dry rehearsal on a machine without a GPU

pack() {  # the runs finished since the start (written atomically: a finished file is complete)
    (cd "$res" && find . -newer /tmp/fa_lab_start \( -name '*.json' -o -name '*.npz' \) | sort > /tmp/fa_lab_list)
    (cd "$res" && tar czf "$out/part.tgz" -T /tmp/fa_lab_list) && mv "$out/part.tgz" "$out/results.tgz"
    echo "packed $(wc -l < /tmp/fa_lab_list) files at $(( $(date +%s) - t0 )) s"
}

t0=$(date +%s)
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if command -v nvidia-cuda-mps-control >/dev/null; then
    nvidia-cuda-mps-control -d && sleep 1
    if timeout 60 "$python" -c "import torch; torch.zeros(1, device='cuda'); print('MPS on')"; then :; else
        echo quit | nvidia-cuda-mps-control; echo "MPS off (its server did not start)"
    fi
else
    echo "MPS off (nvidia-cuda-mps-control not found)"
fi
if ! timeout 120 "$python" -m pytest -q -p no:cacheprovider tests/test_graphs.py; then
    export FA_LAB_CUDA_GRAPHS=0
    echo "CUDA graphs off: training eagerly"
fi
echo "checks took $(( $(date +%s) - t0 )) s"

left=$(( budget - ($(date +%s) - t0) ))
for args in "$@"; do
    # shellcheck disable=SC2086
    timeout -s TERM "$left" "$python" -m fa_lab replicate $args --device "${DEVICE:-cuda}" --results "$res" --no-progress &
done
while [ -n "$(jobs -r)" ]; do
    for _ in $(seq 15); do sleep 2; [ -n "$(jobs -r)" ] || break; done  # pack every 30 s, stop soon after the runners
    pack
done
wait
pack
ls -la "$out"
