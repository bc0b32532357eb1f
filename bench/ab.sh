#!/bin/bash
# Old against new, interleaved call by call under the same load (a shared machine's load swamps absolute
# figures): bench/ab.sh OLD_SRC NEW_SRC PROJECTS N dispatch-cc-args...
# OLD_SRC and NEW_SRC are checkouts (for example `git archive main | tar -x -C /tmp/old`); prints ms per call.
set -u
srcs=("$1" "$2")
projects=$3
n=$4
shift 4
deno=${DENO:-deno}
times=("" "")
for _ in $(seq 1 "$n"); do
  for i in 0 1; do
    s=$(date +%s%N)
    DISPATCH_PROJECTS_DIR=$projects "$deno" run --config "${srcs[$i]}/deno.json" -P=dispatch --no-prompt \
      --quiet --v8-flags=--max-semi-space-size=2 "${srcs[$i]}/src/main.ts" "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    times[i]="${times[i]} $(((e - s) / 1000000))"
  done
done
echo "old:${times[0]}"
echo "new:${times[1]}"
