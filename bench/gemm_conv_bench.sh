#!/bin/bash
# Measures GemmBench/ConvBench (JMH) and the OpenBLAS / PyTorch side case by case, each one started
# only once the CPUs have been idle for 3 s: the machine is shared, and a neighbour's build halves
# a 2-thread GEMM. Results go to $OUT (default /tmp/gemm-conv-bench); summarise with
#   /usr/bin/python3 bench/python/jmh_gflops.py $OUT/*.json; cat $OUT/openblas-*.log
# Build first: mvn -q package -pl engine,bench -DskipTests
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gemm-conv-bench}
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
mkdir -p "$OUT"

wait_idle() {
  for _ in $(seq 1 600); do
    a=($(head -1 /proc/stat)); sleep 3; b=($(head -1 /proc/stat))
    total=0; for j in 1 2 3 4 5 6 7 8; do total=$((total + ${b[$j]} - ${a[$j]})); done
    [ $(( (${b[4]} - ${a[4]}) * 100 / total )) -ge 95 ] && return 0
  done
  echo "CPUs never idle; measuring anyway" >&2
}

jmh() { # name, jmh args...
  local name=$1; shift
  wait_idle
  echo "$(date +%T) $name (load $(cut -d' ' -f1 /proc/loadavg))"
  "$JAVA" -jar bench/target/benchmarks.jar "$@" -rf json -rff "$OUT/$name.json" > "$OUT/$name.log" 2>&1
}

openblas() { # name, openblas_bench.py args...
  local name=$1; shift
  wait_idle
  /usr/bin/python3 bench/python/openblas_bench.py "$@" > "$OUT/openblas-$name.log" 2>&1
}

for shape in 256x256x256 512x512x512 1024x1024x1024 2048x2048x2048 144x65536x48 48x65536x96 \
             48x65536x144:TN 288x16384x96 1152x1024x384 48x48x65536:NT 48x48x1024:NT:b8; do
  safe=${shape//:/_}
  jmh "gemm-$safe" GemmBench -p shape=$shape -wi 3 -w 500ms -i 5 -r 500ms
  openblas "gemm-$safe" gemm $shape
done
for kind in 1x1 3x3 dw3x3; do
  for size in 128 256; do
    jmh "conv-$kind-$size" ConvBench -p kind=$kind -p size=$size -wi 2 -w 500ms -i 4 -r 500ms
    openblas "conv-$kind-$size" conv $kind:$size
  done
done
