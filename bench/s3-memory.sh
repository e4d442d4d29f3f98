#!/usr/bin/env bash
# Measures the peak memory (max RSS) of one export of USERS simulated users
# (default 1,000,000) in all three formats to S3 (MinIO on loopback), with
# the default part size (16 MiB) and upload concurrency (4).
#
#   bash bench/s3-memory.sh [USERS]
#
# The simulator and MinIO run as processes of their own, so the figure is
# the exporter's alone. Needs MinIO from .ci/install-minio and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
users="${1:-1000000}"
work="$(mktemp -d)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

minio="$(bash .ci/install-minio)"
go build -o "$work/export" ./cmd/export

. bench/lib.sh # free_port
s3port="$(free_port)"
key="bench$RANDOM$RANDOM"
secret="$(head -c 18 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
MINIO_ROOT_USER="$key" MINIO_ROOT_PASSWORD="$secret" MINIO_BROWSER=off MINIO_UPDATE=off \
	"$minio" server --quiet --address "127.0.0.1:$s3port" --console-address "127.0.0.1:$(free_port)" \
	--certs-dir "$work/certs" "$work/data" >"$work/minio.log" 2>&1 &
pids+=($!)
simport="$(free_port)"
"$work/export" simulate --addr "127.0.0.1:$simport" --users "$users" >"$work/sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
	curl -sf "http://127.0.0.1:$s3port/minio/health/live" >/dev/null && curl -s "http://127.0.0.1:$simport/" >/dev/null && break
	sleep 0.1
done
curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" -X PUT "http://127.0.0.1:$s3port/bench"

cat >"$work/jobs.yaml" <<YAML
version: 1
output:
  destination: s3://bench/exports
  s3: {endpoint: "http://127.0.0.1:$s3port", force_path_style: true}
jobs:
  - name: nameshield
    provider: nameshield
    base_url: http://127.0.0.1:$simport/nameshield
    auth: {type: bearer, token: bench}
    page_size: 500
    max_in_flight: 4
    rate_limit: 100000/1s
YAML

AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	${BENCH_ENV:-} /usr/bin/time -v "$work/export" run -c "$work/jobs.yaml" --run-id bench --output json \
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
