#!/usr/bin/env bash
# Builds, here, what kernels/scripts/perf-check.sh needs on the GPU machine to check the fused kernels
# and time several versions of them side by side in one device call: kernels/target/perf-bundle/
# (git-ignored; pass it in the device tool's `carry`):
#   rt.tar.gz              a trimmed Java 25 runtime
#   lib/                   engine jars, kernels test classes, JCuda (driver library only), JUnit's console launcher
#   variants/NAME/*.jar    one kernels jar (Java glue + compiled fatbins) per version
# Usage: kernels/scripts/perf-bundle.sh [NAME=REV[:PATCH] ...]
#   "new" is always the working tree (perf-check runs it with -Ddiffir.cuda.pipelined on and off, so
#   no other version is needed to compare the pipelined kernels with the default ones); each NAME=REV
#   is a commit, built from `git archive REV` in a temporary folder, with PATCH (a python file of
#   (path, old, new) edits) applied when given. NAME must not be "pipelined" or "default".
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/java-home.sh
ROOT=$PWD
B=$ROOT/kernels/target/perf-bundle
rm -rf "$B"
mkdir -p "$B/lib" "$B/variants/new"

echo "== build the working tree"
mvn -B -q -o -DskipTests package dependency:copy-dependencies -pl kernels -am -DincludeScope=test \
    -DexcludeGroupIds=org.junit,org.junit.jupiter,org.junit.platform,org.opentest4j,org.apiguardian \
    -DoutputDirectory="$B/lib"
cp kernels/target/kernels-*.jar "$B/variants/new/"
rm -f "$B"/lib/kernels-*.jar "$B"/lib/*-sources.jar
(cd kernels/target/test-classes && "$JAVA_HOME/bin/jar" cf "$B/lib/kernels-tests.jar" .)
JUNIT=$(ls ~/.m2/repository/org/junit/platform/junit-platform-console-standalone/1.14.1/*.jar | head -1)
cp "$JUNIT" "$B/lib/"
NAT=$(ls "$B"/lib/jcuda-natives-*-linux-x86_64.jar)
TMP=$(mktemp -d)
(cd "$TMP" && unzip -q "$NAT" && rm -f lib/libJNvPTXCompiler-* lib/libJNvrtc-* lib/libJCudaRuntime-* && rm -f "$NAT" && "$JAVA_HOME/bin/jar" cf "$NAT" .)
rm -rf "$TMP"

for spec in "$@"; do
  name=${spec%%=*}
  case $name in new|pipelined|default) echo "perf-bundle: variant name $name is taken by the working tree's settings" >&2; exit 2 ;; esac
  rest=${spec#*=}
  rev=${rest%%:*}
  patch=""
  [ "$rest" != "$rev" ] && patch=${rest#*:}
  echo "== variant $name: $rev ${patch:+with $patch}"
  W=$(mktemp -d)
  trap 'rm -rf "$W"' EXIT  # a failed build leaves no tree behind
  git archive "$rev" | tar -x -C "$W"
  if [ -n "$patch" ]; then
    python3 - "$W" "$patch" <<'PY'
import sys, os
root, patch = sys.argv[1], sys.argv[2]
for path, old, new in eval(open(patch).read()):
    p = os.path.join(root, path)
    s = open(p).read()
    if old not in s:
        sys.exit(f"patch {patch}: text not found in {path}: {old[:60]}")
    open(p, "w").write(s.replace(old, new))
PY
  fi
  (cd "$W" && mvn -B -q -o -DskipTests package -pl kernels -am)
  mkdir -p "$B/variants/$name"
  # Its own engine jar too: the Backend interface it implements may differ from the working tree's.
  cp "$W"/kernels/target/kernels-*.jar "$W"/engine/target/engine-*.jar "$B/variants/$name/"
  rm -rf "$W"
  trap - EXIT
done

echo "== jlink"
"$JAVA_HOME/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.xml,java.management \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$B/rt"
rm -f "$B"/rt/lib/server/classes*.jsa
tar czf "$B/rt.tar.gz" -C "$B" rt
rm -rf "$B/rt"
du -sh "$B" "$B"/variants/*
