#!/usr/bin/env bash
# Measures loadgen against the official wheel in one sitting with bench/yardstick/lgbench.py
# (the project's shared yardstick, vendored): suite by suite, the official run and ours back to back,
# alternating which goes first so that a slow drift of the machine hits both alike.
#
#   bench/compare_official.sh --official OFFICIAL_PYTHON --ours OUR_PYTHON [options]
#
#   --official PY     python of a venv with mlcommons-loadgen==6.0.17 (module mlperf_loadgen)
#   --ours PY         python of a venv with this package installed (default: python3)
#   --ours-path DIR   test a directory instead (lgbench --module-path: a folder holding
#                     mlperf_loadgen/ and loadgen/ with the built _core)
#   --out DIR         results directory (default: bench-results/<date-time>)
#   --suites A,B      run only these suites (names below)
#   --quick           smaller runs and fewer repetitions (a few minutes instead of ~40)
#
# Writes DIR/official.jsonl and DIR/ours.jsonl (one lgbench JSON line per suite, with the
# field "suite"), DIR/commands.tsv, DIR/report.md (report.py's side-by-side tables with
# ratios) and DIR/headline.md (figure | official | ours | ratio | command, see headline.py).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
lgbench="${LGBENCH:-$here/yardstick/lgbench.py}"
report="$(dirname "$lgbench")/report.py"
official=""
ours="python3"
ours_path=""
out="bench-results/$(date +%Y%m%d-%H%M%S)"
only=""
quick=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --official) official="$2"; shift 2 ;;
    --ours) ours="$2"; shift 2 ;;
    --ours-path) ours_path="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --suites) only="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ -n "$official" ]] || { echo "--official PYTHON is required" >&2; exit 2; }
[[ -f "$lgbench" ]] || { echo "lgbench.py not found at $lgbench (set LGBENCH)" >&2; exit 2; }

# suite name, then lgbench arguments (full run | quick run).
if [[ $quick -eq 1 ]]; then
  N=200000; REPS=3; SERVER_REPS=2; SS=100000
else
  N=1000000; REPS=5; SERVER_REPS=3; SS=200000
fi
suites=(
  "offline|offline_throughput --samples $N --batches 1,64,1024 --sut std,fast --reps $REPS"
  "instr_offline|instructions --scenario Offline --sizes 50000,100000 --batch 1024 --sut std"
  "instr_offline_fast|instructions --scenario Offline --sizes 50000,100000 --batch 1024 --sut fast"
  "fixed_cost|offline_throughput --samples 1 --batches 1 --sut std --reps 10"
  "server|server_max_qps --targets 10000,50000,100000,130000,200000,300000,400000,520000,700000,1000000 --duration-ms 2000 --reps $SERVER_REPS --bisect 4"
  "instr_server|instructions --scenario Server --sizes 20000,40000 --sut std"
  "singlestream|singlestream_overhead --queries $SS --reps $REPS"
  "instr_singlestream|instructions --scenario SingleStream --sizes 20000,40000 --sut std"
  "tokens|token_latency --scenarios Offline --samples $N --batch 1024 --compare-plain --reps $REPS"
  "mt|mt_completion --samples $N --batches 64,1024 --threads-list 0,1,2 --reps $REPS"
  "memory_offline|memory --scenario Offline --sizes 1e6 --sut std,fast --reps 2"
  "memory_server|memory --scenario Server --target-qps 1000000 --sizes 1e6 --sut std --reps 1"
  "memory_singlestream|memory --scenario SingleStream --sizes 1e6 --sut std --reps 1"
  "logs|log_sizes --sizes 100000 --variants perf,trace,accuracy --reps 1"
)

mkdir -p "$out"
: >"$out/official.jsonl"
: >"$out/ours.jsonl"
: >"$out/commands.tsv"

# run NAME PYTHON OUTFILE SUITE ARGS...: one lgbench command, its JSON line tagged with the suite.
run() {
  local name="$1" py="$2" file="$3" suite="$4"
  shift 4
  echo ">>> [$name] $suite: lgbench.py $*" >&2
  "$py" "$lgbench" "$@" | "$py" -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        result = json.loads(line)
        result["suite"] = sys.argv[1]
        print(json.dumps(result))
' "$suite" >>"$file"
}

i=0
for entry in "${suites[@]}"; do
  suite="${entry%%|*}"
  args="${entry#*|}"
  if [[ -n "$only" && ",$only," != *",$suite,"* ]]; then continue; fi
  printf '%s\t%s\n' "$suite" "$args" >>"$out/commands.tsv"
  # shellcheck disable=SC2206  # the arguments are plain words
  argv=($args)
  ours_argv=("${argv[@]}")
  [[ -n "$ours_path" ]] && ours_argv+=(--module-path "$ours_path")
  if (( i % 2 == 0 )); then
    run official "$official" "$out/official.jsonl" "$suite" "${argv[@]}"
    run ours "$ours" "$out/ours.jsonl" "$suite" "${ours_argv[@]}"
  else
    run ours "$ours" "$out/ours.jsonl" "$suite" "${ours_argv[@]}"
    run official "$official" "$out/official.jsonl" "$suite" "${argv[@]}"
  fi
  i=$((i + 1))
done

python3 "$report" "$out/official.jsonl" "$out/ours.jsonl" >"$out/report.md"
python3 "$here/headline.py" "$out" >"$out/headline.md"
cat "$out/headline.md"
echo "full tables: $out/report.md" >&2
