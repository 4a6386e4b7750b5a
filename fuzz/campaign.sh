#!/usr/bin/env bash
# The long fuzz campaign (docs/security.md, "Fuzzing"): every harness for
# RUNS executions (default 10 million) over its committed corpus, one after
# the other, and a table of what each did. Not part of `make check` (hours,
# not seconds); `make fuzz-smoke` is the per-commit run.
#   fuzz/campaign.sh [RUNS] [HARNESS...]     e.g. fuzz/campaign.sh 10000000 fuzz_dhcp
# JOBS=N runs N workers per harness (the executions are summed).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
jobs=${JOBS:-1}
make -s fuzz
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=($(cd fuzz && ls fuzz_*.c | sed 's/\.c$//'))
out=build/fuzz/campaign
mkdir -p "$out"
printf '%-18s %12s %8s %10s %6s %s\n' harness execs seconds execs/s cov result
for h in "${harnesses[@]}"; do
	work=$out/$h
	mkdir -p "$work/corpus" "$work/logs"
	start=$(date +%s)
	per_job=$(( (runs + jobs - 1) / jobs ))
	status=ok
	pids=()
	for j in $(seq 1 "$jobs"); do
		build/fuzz/$h -runs="$per_job" -print_final_stats=1 -artifact_prefix="$work/" \
			"$work/corpus" "fuzz/corpus/$h" >"$work/logs/$j.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || status=CRASH; done
	secs=$(( $(date +%s) - start ))
	execs=0
	cov=0
	for j in $(seq 1 "$jobs"); do
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/logs/$j.log")
		execs=$(( execs + ${n:-0} ))
		c=$(grep -o 'cov: [0-9]*' "$work/logs/$j.log" | tail -1 | cut -d' ' -f2)
		[ "${c:-0}" -gt "$cov" ] && cov=$c
	done
	printf '%-18s %12d %8d %10d %6d %s\n' "$h" "$execs" "$secs" $(( execs / (secs ? secs : 1) )) "$cov" "$status"
done
