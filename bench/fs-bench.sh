#!/usr/bin/env bash
# Benchmark of the emulated file system through its FUSE mount, against the same fio jobs on the local
# directory the OSTs store their objects in, measured in one run. Prints MiB/s and ops/s and the ratio.
#
# Usage: npm run bench:fs [-- --size 1G --files 2000 --stripes 4 --reps 3 --json results.json]
# Needs root (FUSE) and fio. Not a test: the numbers are for people; nothing is asserted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

size=1G files=2000 stripes=4 reps=3 json=
while (($#)); do
  case $1 in
    --size) size=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --stripes) stripes=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/nacre-bench.XXXXXX")
mnt=$work/mnt
local_dir=$work/local
mkdir -p "$mnt" "$local_dir"
up_pid=
cleanup() {
  if [[ -n $up_pid ]]; then kill -INT "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
  umount -l "$mnt" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
node cmd/nacre.ts --log-level warn up --data-dir "$work/data" --mount "$mnt" --osts 4 --ost-size 8G \
  --port "$port" --no-api >"$work/up.out" 2>"$work/up.err" &
up_pid=$!
for _ in $(seq 1 600); do
  grep -q 'Press Ctrl-C' "$work/up.out" 2>/dev/null && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.err" >&2; exit 1; }
  sleep 0.1
done
grep -q 'Press Ctrl-C' "$work/up.out" || { echo "nacre up did not come up" >&2; cat "$work/up.err" >&2; exit 1; }
node cmd/nacre.ts lfs setstripe -c "$stripes" -S 1M "$mnt"

# fio_metric <dir> <job args…>: prints the job's bandwidth (MiB/s) or IOPS, per the METRIC variable.
fio_metric() {
  local dir=$1; shift
  fio --directory="$dir" --output-format=json --output="$work/fio.json" --name=bench "$@" >/dev/null
  python3 - "$work/fio.json" "$METRIC" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
side = "write" if job["write"]["total_ios"] > 0 else "read"
print(f'{job[side]["bw_bytes"] / 2**20:.1f}' if sys.argv[2] == "bw" else f'{job[side]["iops"]:.0f}')
PY
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() { # run <label> <unit> <metric> <fio args…>: interleaved repetitions, medians, ratio
  local label=$1 unit=$2; METRIC=$3; shift 3
  local l=() m=()
  for _ in $(seq 1 "$reps"); do
    rm -rf "${local_dir:?}"/* "${mnt:?}"/bench* 2>/dev/null || true
    l+=("$(fio_metric "$local_dir" "$@")")
    m+=("$(fio_metric "$mnt" "$@")")
  done
  local lm mm ratio
  lm=$(median "${l[@]}") mm=$(median "${m[@]}")
  ratio=$(python3 -c "print(f'{$mm/$lm:.3f}' if $lm else 'null')")
  printf '%-28s local %10s %-5s nacre %10s %-5s ratio %s\n' "$label" "$lm" "$unit" "$mm" "$unit" "$ratio"
  printf '{"label":"%s","unit":"%s","local":%s,"nacre":%s,"ratio":%s}\n' "$label" "$unit" "$lm" "$mm" "$ratio" \
    >>"$work/results.jsonl"
}

echo "nacre fs bench: 4 OSTs on $(df -h "$work" | awk 'NR==2 {print $1}'), files striped over $stripes, medians of $reps"
run "seq write 1M (direct)" MiB/s bw --rw=write --bs=1M --size="$size" --direct=1 --end_fsync=1
run "seq read 1M (direct)" MiB/s bw --rw=read --bs=1M --size="$size" --direct=1
run "seq write 1M (buffered)" MiB/s bw --rw=write --bs=1M --size="$size" --end_fsync=1
run "file create" ops/s iops --ioengine=filecreate --nrfiles="$files" --filesize=4k --openfiles=1 --create_on_open=1
run "file stat" ops/s iops --ioengine=filestat --nrfiles="$files" --filesize=4k --openfiles=1
run "file unlink" ops/s iops --ioengine=filedelete --nrfiles="$files" --filesize=4k --openfiles=1
if [[ -n $json ]]; then python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])], indent=2))' "$work/results.jsonl" >"$json"; fi
