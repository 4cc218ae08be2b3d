# Sourced by the launchers (./diffir, bench/compare-torch): the JVM flags the engine runs with on the CPU.
# DIFFIR_JAVA_OPTS (words) is appended, so a user can override any of them.
DIFFIR_JVM_FLAGS=(-XX:+UseParallelGC)
if [ -n "${DIFFIR_JAVA_OPTS:-}" ]; then
  read -ra _extra <<<"$DIFFIR_JAVA_OPTS"
  DIFFIR_JVM_FLAGS+=("${_extra[@]}")
fi
