#!/usr/bin/env bash
# On the GPU machine, from the repo root, with kernels/target/perf-bundle carried (built here by
# kernels/scripts/perf-bundle.sh). One call, the working tree's kernels jar ("new") in two settings:
# "pipelined" (-Ddiffir.cuda.pipelined=true: the opt-in pipelined attention kernels and the row-walking
# GDFN backward) and "default" (the kernels the earlier H100 checks measured). In order: the GPU tests
# with the switch on (FusedKernelsGpuTest and CudaBackendTest's fused cases run both settings
# themselves), KernelTiming --fused for pipelined and default, compute-sanitizer memcheck, racecheck,
# synccheck and initcheck over KernelSmoke with it on and memcheck with it off, KernelTiming once for
# every other version in the bundle and again for pipelined and default (the run-to-run spread), per-kernel figures from
# ncu (both settings, level-1 sizes), the SASS instruction mix of the new kernels, then a table and
# the targets the default flips on. Logs and CSVs under $OUT, the verdict in $OUT/summary.txt.
# Phases have hard timeouts; a failing phase does not stop the next.
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
  LIBS=$(timeout 30 find /opt /usr/local /usr/lib -maxdepth 9 \( -name 'libcublas.so*' -o -name 'libcudnn.so*' \) 2>/dev/null | sort)
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
# A version's own jars first, so an older version runs on its own engine jar, not the working tree's.
cp_of() { echo "$(ls "$B"/variants/$1/*.jar | paste -sd: -):$LIB"; }
# A configuration: "pipelined" and "default" are the working tree's jar with the switch on and off;
# any other name is a version in the bundle (perf-bundle.sh NAME=REV), run with the switch off.
ON=-Ddiffir.cuda.pipelined=true
jar_of() { case $1 in pipelined|default) echo new ;; *) echo "$1" ;; esac; }
flags_of() { [ "$1" = pipelined ] && echo "$ON" || echo "-Ddiffir.cuda.pipelined=false"; }
VARIANTS=$(ls "$B/variants" | grep -v '^new$' | sort)
head -2 "$OUT/env.log" | tee -a "$OUT/summary.txt"

# FusedKernelsGpuTest and CudaBackendTest's fused cases set the switch themselves (off and on); $ON covers the rest.
phase tests 100 "$OUT/tests.log" "$JAVA" "${JVM[@]}" "$ON" -Ddiffir.cuda.poison=true -jar "$CONSOLE" execute --disable-banner \
  --details=summary --details-theme=ascii --disable-ansi-colors --class-path "$(cp_of new)" \
  --select-class diffir.kernels.fused.FusedKernelsGpuTest --select-class diffir.kernels.CudaBackendTest
grep -E "tests (successful|failed|aborted|skipped)" "$OUT/tests.log" | tee -a "$OUT/summary.txt"
grep -E "^\s*(JUnit|MethodSource|\[X\]|=>)|rel err .* > |AssertionFailed" "$OUT/tests.log" | head -20 | tee -a "$OUT/summary.txt"

# The timings the switch's default depends on come first after the tests, so a slow sanitizer cannot
# crowd them out; the second round (and the bundle's other versions) after the sanitizers.
timing() {  # timing CONFIG...: one KernelTiming --fused run of each, CSVs numbered per config
  for c in "$@"; do
    local i; i=$(ls "$OUT"/timing-"$c"-*.csv 2>/dev/null | wc -l)
    phase "timing $c" 40 "$OUT/timing.log" "$JAVA" "${JVM[@]}" "$(flags_of "$c")" -cp "$(cp_of "$(jar_of "$c")")" \
      diffir.kernels.bench.KernelTiming "$OUT/timing-$c-$i.csv" --fused
  done
}
timing pipelined default

# KernelSmoke runs every own kernel once at small odd sizes (with the switch on: the pipelined
# attention kernels for r = 12, 8, 4 and the row-walking GDFN backward), synchronising after each launch.
if command -v compute-sanitizer >/dev/null; then
  for run in "memcheck pipelined" "racecheck pipelined" "synccheck pipelined" "initcheck pipelined" "memcheck default"; do
    set -- $run
    phase "$1 $2" 60 "$OUT/$1-$2.log" compute-sanitizer --tool "$1" --error-exitcode 3 --report-api-errors no \
      --target-processes all --print-limit 20 "$JAVA" "${JVM[@]}" "$(flags_of "$2")" -Ddiffir.cuda.sync=true \
      -Ddiffir.cuda.cublas=false -Ddiffir.cuda.cudnn=false -cp "$(cp_of new)" diffir.kernels.check.KernelSmoke
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|^smoke:" "$OUT/$1-$2.log" | tail -2 | sed "s/^/  $1 $2: /" | tee -a "$OUT/summary.txt"
  done
fi

timing $VARIANTS pipelined default


NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  M=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,smsp__inst_executed.sum,sm__warps_active.avg.pct_of_peak_sustained_active,smsp__issue_active.avg.pct_of_peak_sustained_active
  for c in pipelined default; do
    phase "ncu $c" 60 "$OUT/ncu-$c.log" "$NCU" --target-processes all --clock-control none --kernel-name regex:'fused_(attn|gdfn)' \
      --metrics "$M" --csv "$JAVA" "${JVM[@]}" "$(flags_of "$c")" -cp "$(cp_of new)" diffir.kernels.bench.FusedOnce
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
vs = ["pipelined", "default"] + sorted({v for r in runs.values() for v in r} - {"pipelined", "default"})
print("\nop (ms per call, each run)      " + "".join(f"{v:>22}" for v in vs) + "   pipelined % floor")
for op in ["copy_d2d", "ln_mod_fwd", "ln_mod_bwd", "gdfn_fwd", "gdfn_bwd", "attn_fwd", "attn_bwd", "attn_bwd_recompute"]:
    if op not in runs: continue
    cells = []
    for v in vs:
        t = runs[op].get(v, [])
        cells.append(" ".join(f"{x[0]:.4f}" for x in t) or "-")
    new = runs[op].get("pipelined", [])
    pct = f"{100 * statistics.median(x[1] for x in new) / statistics.median(x[0] for x in new):.0f}%" if new and new[0][1] > 0 else ""
    print(f"{op:<32}" + "".join(f"{c:>22}" for c in cells) + f"   {pct}")
# What the switch's default may flip on (kernels/FUSED_KERNELS.md): the tests and sanitizers above
# clean, and these level-1 times (median of the pipelined runs) on an H100.
targets = {"attn_fwd": 0.112, "attn_bwd": 0.196, "gdfn_bwd": 0.370}
print("\ntargets for flipping the default (pipelined, median ms):")
for op, limit in targets.items():
    t = [x[0] for x in runs.get(op, {}).get("pipelined", [])]
    if not t:
        print(f"  {op:<10} no timing"); continue
    m = statistics.median(t)
    d = [x[0] for x in runs[op].get("default", [])]
    base = f", default {statistics.median(d):.4f}" if d else ""
    print(f"  {op:<10} {m:.4f} ms <= {limit:.3f}: {'met' if m <= limit else 'MISSED'}{base}")
for v in ["pipelined", "default"]:
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
