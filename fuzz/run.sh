#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets with clang (FAULTLINE_FUZZ=ON, in build-fuzz/) and
# runs each for FUZZ_SECONDS (default 60), seeded from fuzz/seeds/, examples/ and ../shared/corpus
# (when present). A crash stops that target and leaves the input in build-fuzz/artifacts/<target>/:
# minimise it, fix the code, and add it to fuzz/regressions/<target>/ (fuzz/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"history_edn history_jsonl history_json_array spec check_linear check_txn"}
corpus_shared=$root/../shared/corpus

# -O1 and line tables only: a fuzz build is for coverage and sanitizers, and compiles faster so.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ -DFAULTLINE_FUZZ=ON >/dev/null
for target in $targets; do
  cmake --build "$build" -j"${JOBS:-2}" --target "fuzz_$target"
done

# Copies seed files into a target's working corpus; `prefix` (a byte, in octal) goes first, for
# the checker targets whose first byte picks the model.
seed() {
  local target=$1 prefix=$2; shift 2
  local dir=$build/corpus/$target
  mkdir -p "$dir"
  for file in "$@"; do
    [ -f "$file" ] || continue
    { [ -z "$prefix" ] || printf "\\$prefix"; cat "$file"; } > "$dir/seed-$(basename "$file")"
  done
}
shopt -s nullglob globstar
seed history_edn "" "$corpus_shared"/**/*.edn
seed history_json_array "" "$corpus_shared"/**/*.json
seed history_jsonl "" "$root"/fuzz/seeds/history_jsonl/*
seed spec "" "$root"/examples/*.yaml
# check_linear: byte 1 is cas-register in linear_model_names() order; check_txn: byte 0 is
# list-append and byte 1 rw-register, both under the first claim.
seed check_linear 001 "$corpus_shared"/knossos/**/*.edn "$root"/fuzz/seeds/history_jsonl/register.jsonl
seed check_txn 000 "$corpus_shared"/elle/**/*.edn "$root"/fuzz/seeds/history_jsonl/append.jsonl
seed check_txn 001 "$corpus_shared"/elle-cli/histories/elle/rw-register.*

status=0
for target in $targets; do
  corpus=("$build/corpus/$target")
  [ -d "$root/fuzz/regressions/$target" ] && corpus+=("$root/fuzz/regressions/$target")
  mkdir -p "${corpus[0]}" "$build/artifacts/$target" "$build/logs"
  log=$build/logs/$target.log
  echo "== fuzz_$target for ${seconds} s (log: $log)"
  # -rss_limit_mb: a finding, not a swap storm; -timeout: one input over 10 s is a finding.
  "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target/" \
    "${corpus[@]}" >"$log" 2>&1 || true
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|SUMMARY|fuzz:)|Done [0-9]+ runs' \
    "$log" || true
  echo "corpus: $(ls "${corpus[0]}" | wc -l) inputs"
  if [ -n "$(ls -A "$build/artifacts/$target")" ]; then
    echo "fuzz_$target: findings in $build/artifacts/$target/"
    status=1
  fi
done
exit $status
