#!/usr/bin/env bash
# On the GPU machine, from the repo root, with kernels/target/perf-bundle carried (built here by
# kernels/scripts/perf-bundle.sh). One call: the fused kernels' GPU tests and memcheck for the
# working tree's version ("new"), then KernelTiming --fused for every version in the bundle (new and
# old twice, in turns, for the run-to-run spread), per-kernel times from ncu (new and old, one run
# each op at level-1 sizes), the SASS instruction mix of the new fused kernels, and a table last.
# Logs and CSVs under $OUT. Phases have hard timeouts; a failing phase does not stop the next.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/perf-check-out}
mkdir -p "$OUT"
B=$PWD/kernels/target/perf-bundle
START=$(date +%s)
DEADLINE=$((START + ${PERF_CHECK_SECONDS:-280}))
left() { echo $((DEADLINE - $(date +%s))); }
phase() {  # phase NAME LIMIT LOG CMD...
  local name=$1 limit=$2 log=$3; shift 3
  local l; l=$(left); [ "$l" -lt "$limit" ] && limit=$l
  if [ "$limit" -lt 10 ]; then echo "== $name: skipped (out of time)" | tee -a "$OUT/summary.txt"; return; fi
  local t0; t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  echo "== $name: rc $rc in $(($(date +%s) - t0))s" | tee -a "$OUT/summary.txt"
}

rm -rf /tmp/perf-rt && mkdir -p /tmp/perf-rt && tar xzf "$B/rt.tar.gz" -C /tmp/perf-rt
JAVA=/tmp/perf-rt/rt/bin/java
{
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv
  LIBS=$(timeout 30 find /opt /usr/local /usr/lib -maxdepth 9 \( -name 'libcublas.so.1*' -o -name 'libcudnn.so.9' \) 2>/dev/null | sort)
  echo "$LIBS"
  echo "LIBDIRS=$(echo "$LIBS" | grep -v '^$' | xargs -r -n1 dirname | sort -u | paste -sd: -)"
  command -v ncu compute-sanitizer cuobjdump || true
} >"$OUT/env.log" 2>&1
LIBDIRS=$(grep '^LIBDIRS=' "$OUT/env.log" | cut -d= -f2-)
export LD_LIBRARY_PATH="${LIBDIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
JVM=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx16g -Djava.io.tmpdir=/tmp
     "-Ddiffir.cuda.libpath=$LIBDIRS")
LIB=$(ls "$B"/lib/*.jar | grep -v junit-platform-console-standalone | paste -sd: -)
CONSOLE=$(ls "$B"/lib/junit-platform-console-standalone-*.jar | head -1)
cp_of() { echo "$LIB:$(ls "$B"/variants/$1/*.jar | paste -sd: -)"; }
VARIANTS=$(ls "$B/variants" | grep -v '^new$' | grep -v '^old$' | sort)
head -2 "$OUT/env.log" | tee -a "$OUT/summary.txt"

phase tests 100 "$OUT/tests.log" "$JAVA" "${JVM[@]}" -Ddiffir.cuda.poison=true -jar "$CONSOLE" execute --disable-banner \
  --details=summary --details-theme=ascii --disable-ansi-colors --class-path "$(cp_of new)" \
  --select-class diffir.kernels.fused.FusedKernelsGpuTest --select-class diffir.kernels.CudaBackendTest
grep -E "tests (successful|failed|aborted|skipped)" "$OUT/tests.log" | tee -a "$OUT/summary.txt"
grep -E "^\s*(JUnit|MethodSource|\[X\]|=>)|rel err .* > |AssertionFailed" "$OUT/tests.log" | head -20 | tee -a "$OUT/summary.txt"
grep -E "rel err" "$OUT/tests.log" | sort -k2 | awk '{print}' | sort -t' ' -k1 | tail -3 >/dev/null

if command -v compute-sanitizer >/dev/null; then
  phase memcheck 60 "$OUT/memcheck.log" compute-sanitizer --tool memcheck --error-exitcode 3 --report-api-errors no \
    --target-processes all --print-limit 20 "$JAVA" "${JVM[@]}" -Ddiffir.cuda.sync=true -Ddiffir.cuda.cublas=false \
    -Ddiffir.cuda.cudnn=false -cp "$(cp_of new)" diffir.kernels.check.KernelSmoke
  grep -E "ERROR SUMMARY|^smoke:" "$OUT/memcheck.log" | tail -2 | tee -a "$OUT/summary.txt"
fi

for v in new old $VARIANTS new old; do
  i=$(ls "$OUT"/timing-"$v"-*.csv 2>/dev/null | wc -l)
  phase "timing $v" 40 "$OUT/timing.log" "$JAVA" "${JVM[@]}" -cp "$(cp_of "$v")" diffir.kernels.bench.KernelTiming \
    "$OUT/timing-$v-$i.csv" --fused
done

NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  M=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
  for v in new old; do
    phase "ncu $v" 60 "$OUT/ncu-$v.log" "$NCU" --target-processes all --clock-control none --kernel-name regex:'fused_(attn|gdfn)' \
      --metrics "$M" --csv "$JAVA" "${JVM[@]}" -cp "$(cp_of "$v")" diffir.kernels.bench.FusedOnce
  done
fi

if command -v cuobjdump >/dev/null; then
  mkdir -p /tmp/perf-fat && (cd /tmp/perf-fat && unzip -qo "$(ls "$B"/variants/new/*.jar)" 'diffir/kernels/cuda/*.fatbin')
  for f in fused_attention fused_gdfn; do
    timeout 30 cuobjdump -sass -arch sm_90 /tmp/perf-fat/diffir/kernels/cuda/$f.fatbin >"$OUT/sass-$f.txt" 2>&1
  done
fi

python3 - "$OUT" <<'PY' 2>&1 | tee -a "$OUT/summary.txt"
import csv, glob, os, re, statistics, sys
out = sys.argv[1]
runs = {}
for f in sorted(glob.glob(os.path.join(out, "timing-*.csv"))):
    v = os.path.basename(f)[7:].rsplit("-", 1)[0]
    for row in csv.reader(open(f)):
        if len(row) >= 5:
            runs.setdefault(row[0], {}).setdefault(v, []).append((float(row[1]), float(row[4])))
vs = ["old", "new"] + sorted({v for r in runs.values() for v in r} - {"old", "new"})
print("\nop (ms per call, each run)      " + "".join(f"{v:>22}" for v in vs) + "   new % floor")
for op in ["copy_d2d", "ln_mod_fwd", "ln_mod_bwd", "gdfn_fwd", "gdfn_bwd", "attn_fwd", "attn_bwd", "attn_bwd_recompute"]:
    if op not in runs: continue
    cells = []
    for v in vs:
        t = runs[op].get(v, [])
        cells.append(" ".join(f"{x[0]:.4f}" for x in t) or "-")
    new = runs[op].get("new", [])
    pct = f"{100 * statistics.median(x[1] for x in new) / statistics.median(x[0] for x in new):.0f}%" if new and new[0][1] > 0 else ""
    print(f"{op:<32}" + "".join(f"{c:>22}" for c in cells) + f"   {pct}")
for v in ["new", "old"]:
    f = os.path.join(out, f"ncu-{v}.log")
    if not os.path.exists(f): continue
    rows = [r for r in csv.reader(l for l in open(f) if l.startswith('"'))]
    if not rows: print(f"ncu {v}: no rows"); continue
    h = rows[0]
    try:
        ki, mi, vi, ui = h.index("Kernel Name"), h.index("Metric Name"), h.index("Metric Value"), h.index("Metric Unit")
        ii = h.index("ID")
    except ValueError:
        print("ncu header", h[:12]); continue
    per = {}
    for r in rows[1:]:
        per.setdefault((int(r[ii]), r[ki]), {})[r[mi]] = (r[vi], r[ui])
    print(f"\nncu {v}: kernel (second run of each op)   us   DRAM MB r/w   inst M   warps%  issue%")
    seen = {}
    for (i, k), m in sorted(per.items()):
        seen[k] = seen.get(k, 0) + 1
    cnt = {}
    for (i, k), m in sorted(per.items()):
        cnt[k] = cnt.get(k, 0) + 1
        if cnt[k] != seen[k]: continue  # the last (warm) launch of each kernel name
        def g(name, scale=1.0):
            val, unit = m.get(name, ("nan", ""))
            x = float(val.replace(",", "")) if val not in ("", "n/a") else float("nan")
            if unit in ("nsecond",): x /= 1000.0
            if unit in ("usecond",): pass
            if unit in ("msecond",): x *= 1000.0
            if unit == "byte": x /= 1e6
            if unit == "Kbyte": x /= 1e3
            if unit == "Mbyte": pass
            if unit == "Gbyte": x *= 1e3
            return x * scale
        print(f"  {k[:38]:<38} {g('gpu__time_duration.sum'):8.1f} {g('dram__bytes_read.sum'):7.1f}/{g('dram__bytes_write.sum'):<7.1f}"
              f" {g('smsp__inst_executed.sum') / 1e6:7.1f} {g('sm__warps_active.avg.pct_of_peak_sustained_active'):6.1f}"
              f" {g('smsp__issue_active.avg.pct_of_peak_sustained_active'):6.1f}")
for f in glob.glob(os.path.join(out, "sass-*.txt")):
    txt = open(f).read()
    for m in re.finditer(r"Function : (\S+)(.*?)(?=Function : |\Z)", txt, re.S):
        name, body = m.group(1), m.group(2)
        if not re.search(r"pipe_r12|softmax_r12|gram_gv_r12|pair_r12|strip_k3|bwd_k3_v4|gram_r12$|apply_r12$|apply_pair_r12", name): continue
        ops = re.findall(r"/\*[0-9a-f]{4}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)", body)
        c = {}
        for o in ops: c[o.split(".")[0]] = c.get(o.split(".")[0], 0) + 1
        top = sorted(c.items(), key=lambda x: -x[1])[:8]
        print(f"sass {name}: {len(ops)} static instr; " + ", ".join(f"{a} {b}" for a, b in top))
PY
echo "== done in $(($(date +%s) - START))s"
