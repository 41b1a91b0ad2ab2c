#!/usr/bin/env bash
# `make bench`: every benchmark in one run, each against its peer measured in the same run.
#   bench/train_bench.py  training time per algorithm on 100k synthetic rows; ONNX vs native scoring
#   bench/engine_bench.py the shipped model's engines vs model.onnx and native, per batch size (1, 1000, 10k)
#   bench/serve_bench.py  the predictor vs MLServer 1.7 (own virtualenv, hack/bench-mlserver.sh)
#   bench/console_bench.py the console's server time per page (real control plane and collector)
#   bench/ray_bench.py    batch scoring: one process vs leadscore score --engine ray on a local Ray of 1 and 2 CPUs
#   bench/ray_train_bench.py training: one process vs leadscore train --engine ray on a local Ray of 1, 2 and 4 CPUs
# Results: bench/results/{train,engines,serve,console,ray,ray_train}.json (the README quotes them with the machine they ran on).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
.venv/bin/python bench/train_bench.py
.venv/bin/python bench/engine_bench.py
.venv/bin/python bench/serve_bench.py
.venv/bin/python bench/ray_bench.py
.venv/bin/python bench/ray_train_bench.py
eval "$(hack/tools.sh --env)"
.venv/bin/python bench/console_bench.py
