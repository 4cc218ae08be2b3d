# Sourced by the launchers (./diffir, bench/compare-torch): the JVM flags the engine runs with on the CPU.
#   -XX:+UseParallelGC         throughput collector; the engine's tensors come from its own array pool, so
#                              what the collector sees is short-lived garbage and a few large long-lived arrays
#   -Xmn64m                    a small young generation: enough for the garbage of a step (the Vector API's
#                              boxes before the JIT compiles a kernel, shape arrays, closures), while a large
#                              one only adds to the resident set (inference at 256 px: 1.0 instead of 2.3 GB)
#   -XX:MaxRAMPercentage=75    room for training's saved activations on big batches (the default is 25%)
# DIFFIR_JAVA_OPTS (words) is appended, so a user can override any of them.
DIFFIR_JVM_FLAGS=(-XX:+UseParallelGC -Xmn64m -XX:MaxRAMPercentage=75)
if [ -n "${DIFFIR_JAVA_OPTS:-}" ]; then
  read -ra _extra <<<"$DIFFIR_JAVA_OPTS"
  DIFFIR_JVM_FLAGS+=("${_extra[@]}")
fi
