#!/usr/bin/env bash
# Proves, on the built archives, what cmake/json_kernels.cmake promises:
#  1. each JSON kernel object (json_kernel_K.o) defines one global symbol,
#     its entry table pollster_json_kernel_K: nothing else in the program can
#     be bound to code compiled with the kernel's instruction set;
#  2. no other object of the archives contains an instruction beyond
#     baseline x86-64: no VEX/EVEX (AVX, AVX2, AVX-512), no BMI/LZCNT, no
#     SSSE3/SSE4 or PCLMUL. (LZCNT would not even trap on an old CPU: it
#     decodes as BSR and gives another answer, so qemu alone could not show
#     its absence. TZCNT is not looked for: GCC emits it, as `rep bsf`, for
#     any CPU, where the input is never zero and both give the same answer.)
# usage: check_json_kernels.sh NM OBJDUMP ARCHIVE... -- KERNEL...
set -euo pipefail
nm="$1" objdump="$2"; shift 2
archives=()
while (($#)) && [ "$1" != "--" ]; do archives+=("$1"); shift; done
shift
kernels=("$@")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for a in "${archives[@]}"; do
  dir="$tmp/$(basename "$a")"
  mkdir -p "$dir"
  (cd "$dir" && ar x "$(readlink -f "$a")")
  for o in "$dir"/*.o; do
    name="$(basename "$o")"
    kernel=""
    for k in "${kernels[@]}"; do [ "$name" = "json_kernel_$k.o" ] && kernel="$k"; done
    if [ -n "$kernel" ]; then
      globals="$("$nm" -g --defined-only "$o" | awk '{print $3}' | sort | tr '\n' ' ')"
      if [ "$globals" != "pollster_json_kernel_$kernel " ]; then
        echo "FAIL: $name defines more than its entry: $globals"
        status=1
      fi
      continue
    fi
    found="$("$objdump" -d --no-show-raw-insn -C "$o" | awk -F'\t' '
      /^[0-9a-f]+ <.*>:$/ { fn = $0; next }
      NF >= 2 {
        split($2, w, " "); m = w[1]
        if (m ~ /^v[a-z]/ || m ~ /^(andn|bextr|blsi|blsmsk|blsr|bzhi|lzcnt|mulx|pdep|pext|rorx|sarx|shlx|shrx)$/ || m ~ /^(popcnt|crc32|pclmul|pshufb|palignr|phadd|phsub|pabs|psign|pmaddubsw|pmulhrsw|ptest|pcmp[ei]str|pcmpeqq|pcmpgtq|pblend|blendv|pmin(sb|sd|ud|uw)|pmax(sb|sd|ud|uw)|pinsr[bdq]|pextr[bdq]|pmov[sz]x|pmulld|packusdw|round[sp][sd]|dpp[sd]|insertps|extractps)/)
          { if (n++ < 5) print fn " " m }
      }
      END { if (n > 5) print "... " n " in all" }')"
    if [ -n "$found" ]; then
      echo "FAIL: $(basename "$a")($name) uses instructions beyond baseline x86-64:"
      echo "$found"
      status=1
    fi
  done
done
[ "$status" -eq 0 ] && echo "ok: ${#kernels[@]} kernels self-contained; no other object of ${archives[*]##*/} needs more than baseline x86-64"
exit "$status"
