#!/usr/bin/env bash
# Builds, on this machine, everything the GPU machine needs to check the CUDA backend: it has no JDK,
# no Maven and no network. Output in .device-bundle/ (git-ignored; carried to the GPU machine with the
# device tool's `carry`, 64 MiB in all with the working tree):
#   rt.tar.gz       a trimmed Java 25 runtime (jlink)
#   lib/*.jar       engine, kernels (with the compiled fatbins), app, bench (ModelTiming and the JMH benchmarks:
#                   `rt/bin/java -cp 'lib/*' org.openjdk.jmh.Main FusedBench -p device=cuda`), their test classes,
#                   dependencies (jcuda-natives cut down to the driver library), JUnit's console launcher
# The runtime keeps java.management/jdk.management: ModelTiming reads process CPU time, JMH its MX beans.
# Then, there: scripts/device-check.sh (see kernels/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-home.sh
ROOT=$PWD
B=$ROOT/.device-bundle
rm -rf "$B"
mkdir -p "$B/lib"

JUNIT_PLATFORM=1.14.1   # matches the parent pom's JUnit 5.14.1

echo "== build (kernels compiled with nvcc: $(command -v nvcc || echo /usr/local/cuda/bin/nvcc))"
mvn -B -q -DskipTests package dependency:copy-dependencies -pl app,bench -am \
    -DincludeScope=test -DexcludeGroupIds=org.junit,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
    -DoutputDirectory="$B/lib"
# (no grep -q on a pipe: under pipefail its early exit would fail unzip with SIGPIPE)
if ! unzip -l kernels/target/kernels-*.jar | grep 'diffir/kernels/cuda/modules.txt' >/dev/null; then
  echo "error: the kernels jar has no compiled kernels (is nvcc at /usr/local/cuda/bin/nvcc? or pass -Dnvcc=...)" >&2
  exit 1
fi
cp engine/target/engine-*.jar kernels/target/kernels-*.jar app/target/app/lib/diffir-*.jar bench/target/bench-*.jar "$B/lib/"
rm -f "$B"/lib/*-sources.jar
(cd kernels/target/test-classes && "$JAVA_HOME/bin/jar" cf "$B/lib/kernels-tests.jar" .)
# The model's GPU tests read their PyTorch fixtures as files: carry the test classes as a folder.
mkdir -p "$B/app-test-classes" && cp -r app/target/test-classes/. "$B/app-test-classes/"
mvn -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM \
    -DoutputDirectory="$B/lib"

# JCuda's natives jar carries the PTX compiler, NVRTC and runtime bindings too (26 MB); the driver API is all we use.
NAT=$(ls "$B"/lib/jcuda-natives-*-linux-x86_64.jar)
TMP=$(mktemp -d)
(cd "$TMP" && unzip -q "$NAT" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* lib/libJCudaRuntime-* \
  && rm -f "$NAT" && "$JAVA_HOME/bin/jar" cf "$NAT" .)
rm -rf "$TMP"

echo "== jlink"
"$JAVA_HOME/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.xml,jdk.zipfs,java.desktop,java.management,jdk.management \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$B/rt"
rm -f "$B"/rt/lib/server/classes*.jsa
tar czf "$B/rt.tar.gz" -C "$B" rt
rm -rf "$B/rt"

echo "== bundle"
ls -la "$B" "$B/lib"
du -sh "$B"
TOTAL=$(du -sk "$B" | cut -f1)
if [ "$TOTAL" -gt 56000 ]; then
  echo "warning: the bundle is ${TOTAL} KiB; with the working tree it must stay under 64 MiB" >&2
fi
