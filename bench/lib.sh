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
	for _ in $(seq 600); do
		curl -s "$sim/" >/dev/null && return
		sleep 0.1
	done
	echo "the simulator did not start:" >&2
	cat "$work/sim.log" >&2
	exit 1
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
