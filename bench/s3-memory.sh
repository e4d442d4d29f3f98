#!/usr/bin/env bash
# Measures the peak memory (max RSS) of one export of USERS simulated users
# (default 1,000,000) in all three formats to S3 (MinIO on loopback), with
# the default part size (5 MiB) and upload concurrency (4), without
# compression: the most parts a job has at once.
#
#   bash bench/s3-memory.sh [USERS]
#
# The simulator and MinIO run as processes of their own, so the figure is
# the exporter's alone. Needs MinIO from .ci/install-minio and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
work="$(mktemp -d)"
sim_pid=""
minio_pid=""
trap 'kill $sim_pid $minio_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/export" ./cmd/export

. bench/lib.sh # start_minio, simulate
start_minio
simulate --users "$users"

cat >"$work/jobs.yaml" <<YAML
version: 1
output:
  destination: s3://bench/exports
  s3: {endpoint: "$s3_endpoint", force_path_style: true}
jobs:
  - name: nameshield
    provider: nameshield
    base_url: $sim/nameshield
    auth: {type: bearer, token: bench}
    page_size: 500
    max_in_flight: 4
    rate_limit: 100000/1s
YAML

env $s3_env ${BENCH_ENV:-} /usr/bin/time -v "$work/export" run -c "$work/jobs.yaml" --run-id bench --output json \
	>"$work/summary.json" 2>"$work/run.log" || { cat "$work/run.log"; exit 1; }

grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "$work/run.log"
python3 - "$work/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for j in s["jobs"]:
    print(j["job"], j["status"], "records:", j["records"], "source_total:", j["source_total"])
    for f in j["files"]:
        print("  ", f["uri"], f["rows"], "rows", round(f["bytes"] / 2**20, 1), "MiB")
PY
