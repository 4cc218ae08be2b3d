#!/usr/bin/env bash
# The CUDA backend's GPU check, run ON the GPU machine from the repo root, with .device-bundle/ built
# here by scripts/device-bundle.sh (carried along by the device tool). Phases, each under a hard
# timeout and all within 6 minutes; a phase that fails does not stop the next:
#   env        unpack the Java runtime, nvidia-smi, find cuBLAS / cuDNN (put their folders on LD_LIBRARY_PATH)
#   tests      the GPU tests (classes *Cuda*Test / *Gpu*Test in diffir.kernels: every Backend method vs the CPU
#              backend, a small model forward and backward, ...) via JUnit's console launcher
#   sanitizer  compute-sanitizer memcheck over KernelSmoke (every own kernel once, small odd sizes; cuBLAS and
#              cuDNN left out: instrumenting their modules would cost minutes, and they are not ours to check).
#              API errors are not reported: looking a kernel up in each module until one has it, and
#              polling a staging buffer's event, return "not found" / "not ready" by design.
#   timing     KernelTiming: our kernels at DIRformer level-1 sizes, CUDA events around bursts of calls, vs
#              measured bandwidth
#   torch      the same ops in PyTorch eager (kernels/src/test/python/torch_eager_bench.py)
#   model      ModelTiming: S2 inference of the GoPro model at 64/128/256 px, one small-config training step
#   torchmodel the same model cases in PyTorch eager on the GPU (bench/torch_reference_bench.py --device cuda)
#   cli        scripts/device-cli-check.sh: train S1 and S2, resume and restore through the CLI on CUDA, vs the CPU
#   tables     op, ours ms, torch ms, speedup, GB/s, % of floor; then case, ours ms, torch ms, speedup, ...
# Phases run in this order and each gets at most what is left of the deadline, so on a slow machine the
# last ones (cli first) are cut or skipped: DEVICE_CHECK_SKIP="torch torchmodel" (names as above) makes room.
# Full logs in $OUT: env.log tests.log sanitizer.log timing.log model.log torch.log cli.log, csv/ (each
# phase's CSV as it is written, so a run cut short still returns them), all.csv (the four together) and
# summary.txt.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-check-out}
mkdir -p "$OUT"
B=$PWD/.device-bundle
START=$(date +%s)
DEADLINE=$((START + ${DEVICE_CHECK_SECONDS:-345}))
declare -A STATUS
ORDER=()

remaining() { echo $((DEADLINE - $(date +%s))); }

# run_phase NAME BUDGET_SECONDS LOG COMMAND...
run_phase() {
  local name=$1 budget=$2 log=$3
  shift 3
  case " ${DEVICE_CHECK_SKIP:-} " in *" $name "*)
    ORDER+=("$name"); STATUS[$name]="skipped (DEVICE_CHECK_SKIP)"; echo "== $name: skipped"; return ;;
  esac
  local left
  left=$(remaining)
  local limit=$((budget < left ? budget : left))
  ORDER+=("$name")
  if [ "$limit" -lt 15 ]; then
    STATUS[$name]="skipped (out of time)"
    echo "== $name: skipped, out of time"
    return
  fi
  echo "== $name (limit ${limit}s)" | tee -a "$log"
  local t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >>"$log" 2>&1
  local rc=$?
  local dt=$(($(date +%s) - t0))
  case $rc in
    0) STATUS[$name]="ok (${dt}s)" ;;
    124 | 137) STATUS[$name]="TIMED OUT after ${dt}s" ;;
    *) STATUS[$name]="FAILED, exit $rc (${dt}s)" ;;
  esac
  echo "-- $name: ${STATUS[$name]}"
  tail -n 15 "$log"
}

# ------------------------------------------------------------------ env
ENV_LOG=$OUT/env.log
{
  echo "== env $(date -u)"
  uname -a
  if [ ! -f "$B/rt.tar.gz" ]; then
    echo "error: $B/rt.tar.gz missing: run scripts/device-bundle.sh on the dev machine and carry .device-bundle"
  fi
  rm -rf /tmp/diffir-rt && mkdir -p /tmp/diffir-rt && tar xzf "$B/rt.tar.gz" -C /tmp/diffir-rt
  JAVA=/tmp/diffir-rt/rt/bin/java
  "$JAVA" -version 2>&1
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.draw,temperature.gpu --format=csv
  else
    echo "no nvidia-smi"
  fi
  echo "-- cuBLAS / cuDNN libraries"
  LIBS=$(timeout 60 find /usr /opt /lib /lib64 /root /home -xdev \( -name 'libcublas.so*' -o -name 'libcublasLt.so*' -o -name 'libcudnn*.so*' \) 2>/dev/null | sort)
  echo "$LIBS"
  LIBDIRS=$(echo "$LIBS" | grep -v '^$' | xargs -r -n1 dirname | sort -u | paste -sd: -)
  echo "LIBDIRS=$LIBDIRS"
  echo "-- tools"
  command -v compute-sanitizer nvcc python3 || true
  timeout 60 python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 || true
} >"$ENV_LOG" 2>&1
JAVA=/tmp/diffir-rt/rt/bin/java
LIBDIRS=$(grep '^LIBDIRS=' "$ENV_LOG" | cut -d= -f2-)
export LD_LIBRARY_PATH="${LIBDIRS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
STATUS[env]="ok ($(($(date +%s) - START))s)"
ORDER+=(env)
[ -x "$JAVA" ] || STATUS[env]="FAILED: no Java runtime unpacked"
echo "-- env: ${STATUS[env]}"
grep -E "NVIDIA|Driver|openjdk|version|torch|LIBDIRS" "$ENV_LOG" | head -12

CONSOLE=$(ls "$B"/lib/junit-platform-console-standalone-*.jar 2>/dev/null | head -1)
CP=$(ls "$B"/lib/*.jar | grep -v junit-platform-console-standalone | paste -sd: -):$B/app-test-classes
CSV=$OUT/csv && rm -rf "$CSV" && mkdir -p "$CSV"
JVM=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx16g
     -Djava.io.tmpdir=/tmp "-Ddiffir.cuda.libpath=$LIBDIRS")

# ------------------------------------------------------------------ tests
run_phase tests 150 "$OUT/tests.log" "$JAVA" "${JVM[@]}" -Ddiffir.cuda.poison=true -jar "$CONSOLE" execute \
  --disable-banner --details=tree --details-theme=ascii --disable-ansi-colors --class-path "$CP" --reports-dir /tmp/diffir-junit \
  --select-package diffir.kernels --select-package diffir.model --include-classname '^.*(Cuda|Gpu)[A-Za-z]*Test$'

# ------------------------------------------------------------------ sanitizer
if command -v compute-sanitizer >/dev/null; then
  run_phase sanitizer 100 "$OUT/sanitizer.log" compute-sanitizer --tool memcheck --error-exitcode 3 \
    --report-api-errors no --target-processes all --print-limit 30 "$JAVA" "${JVM[@]}" -Ddiffir.cuda.sync=true \
    -Ddiffir.cuda.cublas=false -Ddiffir.cuda.cudnn=false -cp "$CP" diffir.kernels.check.KernelSmoke
else
  ORDER+=(sanitizer)
  STATUS[sanitizer]="skipped (no compute-sanitizer)"
fi

# ------------------------------------------------------------------ timing
run_phase timing 80 "$OUT/timing.log" "$JAVA" "${JVM[@]}" -cp "$CP" diffir.kernels.bench.KernelTiming "$CSV/ours.csv"

# ------------------------------------------------------------------ torch
SMALL=""
command -v nvidia-smi >/dev/null || SMALL="--small"   # a dry run of this script on a machine without a GPU
run_phase torch 80 "$OUT/torch.log" env PYTHONUNBUFFERED=1 python3 kernels/src/test/python/torch_eager_bench.py \
  "$CSV/torch.csv" $SMALL

# ------------------------------------------------------------------ model
run_phase model 90 "$OUT/model.log" "$JAVA" "${JVM[@]}" -cp "$CP" diffir.bench.ModelTiming "$CSV/model.csv" $SMALL

# ------------------------------------------------------------------ torchmodel
TM_ARGS=(--device cuda --warmup 3 --repeats 10)
[ -n "$SMALL" ] && TM_ARGS=(--device cpu --cases infer64,train --warmup 0 --repeats 1)
run_phase torchmodel 100 "$OUT/model.log" env PYTHONUNBUFFERED=1 python3 bench/torch_reference_bench.py "${TM_ARGS[@]}" \
  --csv "$CSV/torch_model.csv"

# ------------------------------------------------------------------ cli
run_phase cli 120 "$OUT/cli.log" env JAVA="$JAVA" CP="$CP" JVM_FLAGS="${JVM[*]}" bash scripts/device-cli-check.sh

# ------------------------------------------------------------------ summary and table
{
  echo "== device check, $(($(date +%s) - START))s in all"
  for p in "${ORDER[@]}"; do printf '%-10s %s\n' "$p" "${STATUS[$p]}"; done
  grep -E "tests (found|successful|failed|aborted)" "$OUT/tests.log" 2>/dev/null | tail -4
  grep -E "\[X\]" "$OUT/tests.log" 2>/dev/null | head -20
  grep -E "ERROR SUMMARY|^smoke:" "$OUT/sanitizer.log" 2>/dev/null | tail -3
  grep -E "device-to-device|SGEMM|^device:" "$OUT/timing.log" 2>/dev/null
  grep -E "^(mean|trained|restored)|it/s" "$OUT/cli.log" 2>/dev/null | tail -12
  echo
  timeout 20 python3 scripts/bench_tables.py ops "$CSV/ours.csv" "$CSV/torch.csv" 2>&1
  echo
  timeout 20 python3 scripts/bench_tables.py models "$CSV/model.csv" "$CSV/torch_model.csv" 2>&1
} >"$OUT/summary.txt" 2>&1
for f in ours torch model torch_model; do echo "== $f.csv"; cat "$CSV/$f.csv" 2>/dev/null; done >"$OUT/all.csv"
echo
cat "$OUT/summary.txt"
