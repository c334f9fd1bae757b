#!/usr/bin/env bash
# Old against new, back to back: runs the lifecycle, relay, replay and HTTP API benchmarks on two
# revisions of Posthaste in one sitting, alternated (old, new, new, old, old, new, …), and prints
# one markdown table per benchmark with every run and the medians. Not part of CI (about 5 minutes
# per revision and pair on the project machine).
#
# usage: scripts/bench-compare.sh OLD_REV [NEW_REV|.] [PAIRS]
#        NEW_REV "." (the default) is the working tree.
# env:   BENCH_N=3000          messages of the lifecycle run (scripts/bench-lifecycle.sh)
#        BENCH_ONLY="relay api" run only these of: lifecycle relay replay api
set -euo pipefail
OLD=${1:?usage: scripts/bench-compare.sh OLD_REV [NEW_REV|.] [PAIRS]}
NEW=${2:-.}
PAIRS=${3:-3}
N=${BENCH_N:-3000}
ONLY=${BENCH_ONLY:-lifecycle relay replay api}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'for d in "$WORK"/tree-*; do git -C "$ROOT" worktree remove --force "$d" >/dev/null 2>&1 || true; done; rm -rf "$WORK"' EXIT

tree() { # rev -> directory holding that revision (the working tree for ".")
  if [ "$1" = "." ]; then echo "$ROOT"; return; fi
  local d="$WORK/tree-$1"
  [ -d "$d" ] || git -C "$ROOT" worktree add --detach "$d" "$1" >/dev/null 2>&1
  # The tests of a tree read ../shared beside it and the npm clients of its testdata.
  ln -sfn "$ROOT/../shared" "$WORK/shared"
  for c in "$ROOT"/cmd/posthaste/testdata/*/node_modules; do
    [ -d "$c" ] && ln -sfn "$c" "$d/cmd/posthaste/testdata/$(basename "$(dirname "$c")")/node_modules" 2>/dev/null || true
  done
  echo "$d"
}
OLDDIR=$(tree "$OLD")
NEWDIR=$(tree "$NEW")

load() { cut -d' ' -f1 /proc/loadavg; }

# Each run prints "value" (higher is better) on its last line; $1 is the tree.
run_lifecycle() { # delivered/s of Posthaste, read side drained
  (cd "$1" && BENCH_POSTFIX=0 BENCH_DRAIN=1 scripts/bench-lifecycle.sh "$N" 10 2>/dev/null) |
    awk -F'|' '/^\| posthaste/ {gsub(/ /,"",$8); v=$8} END {print v}'
}
run_relay() { # events/s, relay to one quorum queue with deferred confirms
  (cd "$1" && go test -run '^$' -bench 'RelayMariaDB/confirms=deferred/queue=quorum/queues=1$' -benchtime=20000x ./domain/relay/ 2>/dev/null) |
    awk '/events\/s/ {for (i=1;i<=NF;i++) if ($(i+1)=="events/s") v=$i} END {print v}'
}
run_replay() { # events/s of message_view + message_stats replayed together on SQLite
  local pkg=./projections/messageview/
  [ -d "$1/projections/messageview" ] || pkg=./projections/messages/
  (cd "$1" && POSTHASTE_BENCH_MESSAGES=20000 go test -run '^$' -bench 'BenchmarkReplay/sqlite/all' -benchtime 1x "$pkg" 2>/dev/null) |
    awk '/events\/s/ {for (i=1;i<=NF;i++) if ($(i+1)=="events/s") v=$i} END {print v}'
}
run_api() { # accepted/s of v2 send, 128 clients, embedded default
  (cd "$1" && POSTHASTE_API_LOAD=1 POSTHASTE_API_LOAD_DURATION=5s go test -count=1 ./cmd/posthaste -run 'TestAPISendLoad$' -v 2>/dev/null) |
    awk -F'|' '$2 ~ /embedded/ && $3 ~ /v2 send/ && $4+0 == 128 {gsub(/ /,"",$7); v=$7} END {print v}'
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "Comparing $OLD ($OLDDIR) with $NEW ($NEWDIR), $PAIRS pairs, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
for b in $ONLY; do
  : >"$WORK/$b.old"; : >"$WORK/$b.new"
  rows=()
  for i in $(seq "$PAIRS"); do
    order="old new"; [ $((i % 2)) -eq 0 ] && order="new old"
    for which in $order; do
      dir=$OLDDIR; [ "$which" = new ] && dir=$NEWDIR
      l=$(load)
      v=$("run_$b" "$dir" || true)
      echo "${v:-0}" >>"$WORK/$b.$which"
      rows+=("| $b | $i | $which | ${v:--} | $l |")
      echo "  $b pair $i $which: ${v:--} (load $l)" >&2
    done
  done
  mo=$(median <"$WORK/$b.old"); mn=$(median <"$WORK/$b.new")
  echo
  echo "| benchmark | pair | code | result | load at start |"
  echo "|---|---|---|---:|---:|"
  printf '%s\n' "${rows[@]}"
  ratio=$(awk -v o="$mo" -v n="$mn" 'BEGIN {if (o>0) printf "%.2f", n/o; else print "-"}')
  echo "| **$b median** | | old **$mo** / new **$mn** | new/old **$ratio** | |"
done
