#!/usr/bin/env bash
# Coverage-guided fuzzing (reliability.md T1): every target of fuzz/ under libFuzzer for SECONDS
# in total (default 60), split evenly between the targets. Prints runs and crashes per target
# and exits non-zero on any crash; crash inputs stay in fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh [SECONDS]
#   FUZZ_SANITIZER=address bash scripts/fuzz.sh 14400    # long runs, with AddressSanitizer
#
# libFuzzer needs a nightly toolchain: without one this says so, replays the corpus on stable
# (tests/fuzz_corpus_replay.rs) and exits 0. cargo-fuzz is installed when missing. The targets
# are built once, together, without a sanitizer unless FUZZ_SANITIZER says otherwise (the code
# under test is safe Rust: a sanitizer finds little there and slows the build and the runs).
# Runs under 10 minutes use the quick build (fuzz/Cargo.toml's dev profile), longer ones the
# optimized one; FUZZ_BUILD=dev|release chooses. New inputs the fuzzer finds go to
# fuzz/work/corpus/<target>/ (not committed); the checked-in corpus is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

TOTAL=${1:-60}
if ! [[ $TOTAL =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
TARGETS=(wire_decode handler service_json bind_key)
SANITIZER=${FUZZ_SANITIZER:-none}
BUILD=${FUZZ_BUILD:-$( (( TOTAL < 600 )) && echo dev || echo release)}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain here (libFuzzer needs one): only the stable replay of the corpus runs"
  cargo test --test fuzz_corpus_replay
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

FLAGS=(--sanitizer "$SANITIZER" --debug-assertions)
if [[ $BUILD == dev ]]; then FLAGS+=(--dev); fi
# Longest input per target: DNS messages up to a large UDP datagram, key pairs with RSA.
declare -A MAX_LEN=([wire_decode]=4096 [handler]=4096 [service_json]=4096 [bind_key]=8192)

started=$(date +%s)
cargo +nightly fuzz build "${FLAGS[@]}"
echo "fuzz: targets built ($BUILD, sanitizer $SANITIZER) in $(( $(date +%s) - started )) s"

per=$(( TOTAL / ${#TARGETS[@]} ))
(( per > 0 )) || per=1
mkdir -p fuzz/work
failed=()
for target in "${TARGETS[@]}"; do
  mkdir -p "fuzz/work/corpus/$target" "fuzz/artifacts/$target"
  log="fuzz/work/$target.log"
  status=0
  cargo +nightly fuzz run "${FLAGS[@]}" "$target" "fuzz/work/corpus/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$per" -max_len="${MAX_LEN[$target]}" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  crashes=$(grep -c 'Test unit written to' "$log" || true)
  echo "fuzz: $target: ${runs:-?} runs in ${per} s, $crashes crashes"
  if (( status != 0 || crashes > 0 )); then
    failed+=("$target")
    grep -E 'panicked at|ERROR: libFuzzer|Test unit written to|SUMMARY' "$log" | head -n 20 || true
    echo "fuzz: $target: full log in $log"
  fi
done

if (( ${#failed[@]} > 0 )); then
  echo "fuzz: crashes in ${failed[*]}: inputs in fuzz/artifacts/; reproduce with"
  echo "  cargo +nightly fuzz run ${FLAGS[*]} TARGET fuzz/artifacts/TARGET/crash-..."
  exit 1
fi
echo "fuzz: no crash in $(( $(date +%s) - started )) s"
