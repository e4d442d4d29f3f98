# Helpers the bench scripts share. Source it once $work is a scratch
# directory holding the export binary at $work/export; the caller's trap
# kills $sim_pid.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# simulate ARGS...: (re)starts the simulator; sets $sim to its base URL.
simulate() {
	[ -n "$sim_pid" ] && { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
	local port
	port="$(free_port)"
	"$work/export" simulate --addr "127.0.0.1:$port" "$@" >"$work/sim.log" 2>&1 &
	sim_pid=$!
	sim="http://127.0.0.1:$port"
	await "$work/sim.log" "the simulator" curl -s "$sim/" # any answer: it has no page at /
}

# await LOG WHAT COMMAND...: retries COMMAND for up to a minute until it
# succeeds; else prints LOG, the log of WHAT, and exits.
await() {
	local log="$1" what="$2"
	shift 2
	for _ in $(seq 600); do
		"$@" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "$what did not start:" >&2
	cat "$log" >&2
	exit 1
}

# start_minio: starts MinIO (.ci/install-minio installs it) on loopback,
# with a bucket "bench"; sets $s3_endpoint, $s3_env (the AWS_* settings an
# export needs, NAME=VALUE separated by spaces) and $minio_pid, which the
# caller's trap kills.
start_minio() {
	local minio key secret port
	minio="$(bash .ci/install-minio)"
	port="$(free_port)"
	key="bench$RANDOM$RANDOM"
	secret="$(head -c 18 /dev/urandom | base64 | tr -dc 'a-zA-Z0-9')"
	MINIO_ROOT_USER="$key" MINIO_ROOT_PASSWORD="$secret" MINIO_BROWSER=off MINIO_UPDATE=off \
		"$minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$(free_port)" \
		--certs-dir "$work/certs" "$work/data" >"$work/minio.log" 2>&1 &
	minio_pid=$!
	s3_endpoint="http://127.0.0.1:$port"
	await "$work/minio.log" MinIO curl -sf "$s3_endpoint/minio/health/live"
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" -X PUT "$s3_endpoint/bench"
	s3_env="AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true"
}

# sim_cpu: the simulator's CPU seconds so far (user + system).
sim_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$sim_pid/stat"; }

# cpu_head: the head of a jobs file as the CPU benchmark writes it (every
# format, compressed), before its jobs: list.
cpu_head() {
	cat <<YAML
version: 1
concurrency: 3
output:
  destination: $work/out
  formats: [jsonl, csv, parquet]
  compression: {parquet: zstd, jsonl: gzip, csv: zstd}
jobs:
YAML
}
