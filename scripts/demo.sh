#!/usr/bin/env bash
# Ferry's main job, end to end: start a real program, checkpoint it, look at the images, restore it,
# and show that it carried on from where it was.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
ferry="$PWD/out/ferry"
work=$(mktemp -d /tmp/ferry-demo.XXXXXX)
trap 'pkill -KILL -f "$work/count.txt" 2>/dev/null || true' EXIT

echo "== ferry check: what this kernel offers"
"$ferry" check || true

echo
echo "== start a counter: it appends 1, 2, 3 ... to $work/count.txt every 10 ms"
setsid tests/targets/build/counter "$work/count.txt" </dev/null >/dev/null 2>&1 &
pid=$!
sleep 0.5
echo "pid $pid, counted to $(tail -n1 "$work/count.txt")"

echo
echo "== ferry dump -t $pid -D $work/images (the process is frozen, saved, then killed, as with CRIU)"
mkdir "$work/images"
time "$ferry" dump -t "$pid" -D "$work/images" -o dump.log -v4
last=$(tail -n1 "$work/count.txt")
echo "dumped at $last; the process is gone: $(kill -0 "$pid" 2>/dev/null && echo still running || echo yes)"
ls -l "$work/images"

echo
echo "== ferry show --summary"
"$ferry" show "$work/images" --summary

echo
echo "== ferry restore -D $work/images -d"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done   # the dumped PID must be free again
time "$ferry" restore -D "$work/images" -d -o restore.log -v4 --pidfile "$work/restored.pid"
echo "restored as pid $(cat "$work/restored.pid")"
sleep 0.5
now=$(tail -n1 "$work/count.txt")
echo "it counted on from $last to $now"
if awk 'NR != $1 { bad = 1 } END { exit bad }' "$work/count.txt"; then
  echo "every number from 1 to $now appears once, in order: no gap, no repeat"
else
  echo "FAIL: the count has a gap or a repeat" >&2; exit 1
fi
kill -TERM "$(cat "$work/restored.pid")"
echo "demo finished: images and logs are in $work"
