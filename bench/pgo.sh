#!/usr/bin/env bash
# Collects cmd/export/default.pgo, the CPU profile that `go build` (and
# `go install`) apply to the export binary: profile-guided optimisation,
# which inlines and devirtualises what the profile shows hot. The profile
# is of three runs of every provider's export against the simulator
# (50,000 users each, Requestor in JSON and in XML), all three formats
# compressed as the CPU benchmark has them.
#
#   bash bench/pgo.sh     # then commit cmd/export/default.pgo
#
# Collect it again when the hot paths change much: a stale profile still
# builds, it only optimises less.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
sim_pid=""
trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/export" ./cmd/export
. bench/lib.sh
simulate --users 50000

{
	cpu_head
	cat <<YAML
  - {name: kare, provider: kare, base_url: "$sim/kare", rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: bearer, token: t, headers: {x-session-token: t}}}
  - {name: mctime, provider: mctime, base_url: "$sim/mctime", rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: header, name: x-api-key, value: k}}
  - {name: medipim, provider: medipim, base_url: "$sim/medipim", rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: basic, username: demo, password: demo}}
  - {name: nameshield, provider: nameshield, base_url: "$sim/nameshield", rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: bearer, token: t}}
  - {name: requestor, provider: requestor, base_url: "$sim/requestor", rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: basic, username: u, password: p}}
  - {name: requestor-xml, provider: requestor, base_url: "$sim/requestor", wire_format: xml, rate_limit: 1000000/1s, max_in_flight: 4, auth: {type: basic, username: u, password: p}}
YAML
} >"$work/jobs.yaml"
go test ./cmd/export -run '^TestPGOProfile$' -count=1 -args \
	-pgo.config "$work/jobs.yaml" -pgo.profile "$PWD/cmd/export/default.pgo"
echo "wrote cmd/export/default.pgo ($(wc -c <cmd/export/default.pgo) bytes)"
