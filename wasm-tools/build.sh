#!/usr/bin/env bash
# Builds the WASI modules byte-for-byte reproducibly and writes checksums.sha256.
#   build.sh          build into wasm-tools/build/ and rewrite the manifest
#   build.sh --check  rebuild into a temp dir; fail naming every module whose bytes differ from the
#                     manifest, and every committed build/*.wasm that differs from it
# Needs Debian's clang (14), lld, wasi-libc and libclang-rt-14-dev-wasm32, and `npm ci` (binaryen).
set -euo pipefail
cd "$(dirname "$0")"

CC=${WASM_CC:-clang}
# clang runs any `wasm-opt` it finds on PATH after linking; npm puts binaryen's there (node_modules/.bin).
# The bytes must come from clang alone (metering is a separate, pinned step), so drop it from PATH.
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v 'node_modules/\.bin' | paste -sd: -)
MODULES="read write edit list search stat"
# Modules that may run on the server's main thread with a fuel budget (src/sandbox/inline/): metered
# at build time by meter.mjs (npm binaryen, pinned). The others run only in the worker pool.
METERED="read list stat"

# Memory caps (bytes, multiples of 64 KiB), enforced by the engine: a module cannot grow past them.
#   read   64 MiB: one reply (policy max_read_bytes <= 3 MiB) plus slack
#   write  16 MiB: content streams through a 256 KiB buffer
#   edit  256 MiB: old + new content + the edits; policy max_write_bytes is at most 256 MiB, so
#                  the largest edits still fail cleanly (TOOBIG) instead of the engine trapping
#   list   64 MiB: one directory's names at a time per level, sorted
#   stat   16 MiB: paths only
#   search 256 MiB: a 1 MiB file buffer growing up to 64 MiB for very long lines, globs, .gitignore
mem_of() {
  case "$1" in
    read | list) echo 67108864 ;;
    write | stat) echo 16777216 ;;
    edit | search) echo 268435456 ;;
  esac
}
# Stack sizes: 1 MiB where regexes, globs or recursion run; 128 KiB for the straight-line tools
# (their largest frame is 8 KiB), which keeps their memory small: each run's memory is zeroed for
# reuse, so its size is paid on every call.
stack_of() {
  case "$1" in
    read | write | stat) echo 131072 ;;
    *) echo 1048576 ;;
  esac
}
extra_of() {
  case "$1" in
    search) echo "glob.c dfa.c" ;;
    *) echo "" ;;
  esac
}

# Fixed flags only; sources are compiled from this directory by relative name, and the output is
# stripped, so no path, time or host detail reaches the bytes.
CFLAGS=(--target=wasm32-wasi -O2 -msimd128 -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror
  -Wno-unused-parameter -Wno-sign-compare -ffile-prefix-map="$PWD"=. -fno-ident)
# --import-memory: the runtime creates each run's memory (and recycles it zeroed) instead of the engine
# reserving a fresh one per instance; --max-memory below is its cap, which the engine enforces.
LDFLAGS=(-Wl,--strip-all -Wl,--no-export-dynamic -Wl,--import-memory)

build_into() {
  local out=$1
  mkdir -p "$out"
  for m in $MODULES; do
    # shellcheck disable=SC2046
    "$CC" "${CFLAGS[@]}" -o "$out/$m.wasm" "$m.c" common.c $(extra_of "$m") \
      "${LDFLAGS[@]}" -Wl,-z,stack-size="$(stack_of "$m")" -Wl,--max-memory="$(mem_of "$m")"
    if [[ " $METERED " == *" $m "* ]]; then
      mv "$out/$m.wasm" "$out/$m.unmetered.wasm"
      node meter.mjs "$out/$m.unmetered.wasm" "$out/$m.wasm"
      rm "$out/$m.unmetered.wasm"
    fi
  done
}

if ! command -v "$CC" >/dev/null; then
  echo "build.sh: $CC not found (apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32)" >&2
  exit 1
fi

if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  build_into "$tmp"
  bad=0
  for m in $MODULES; do
    want=$(awk -v f="build/$m.wasm" '$2 == f { print $1 }' checksums.sha256)
    got=$(sha256sum "$tmp/$m.wasm" | cut -d' ' -f1)
    if [ -z "$want" ]; then
      echo "check:wasm: $m: missing from checksums.sha256" >&2
      bad=1
    elif [ "$want" != "$got" ]; then
      echo "check:wasm: $m: rebuilt bytes differ from checksums.sha256 (want $want, got $got)" >&2
      bad=1
    fi
    if [ ! -f "build/$m.wasm" ]; then
      echo "check:wasm: $m: build/$m.wasm is missing" >&2
      bad=1
    elif [ -n "$want" ] && [ "$(sha256sum "build/$m.wasm" | cut -d' ' -f1)" != "$want" ]; then
      echo "check:wasm: $m: committed build/$m.wasm differs from checksums.sha256" >&2
      bad=1
    fi
  done
  if [ "$bad" = 0 ]; then echo "check:wasm: all modules match checksums.sha256"; fi
  exit "$bad"
fi

build_into build
: >checksums.sha256
for m in $MODULES; do sha256sum "build/$m.wasm" >>checksums.sha256; done
echo "built: $(echo $MODULES) -> wasm-tools/build/, manifest wasm-tools/checksums.sha256"
