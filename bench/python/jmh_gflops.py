"""Summarises the GFLOP/s counter of a JMH JSON result (java -jar benchmarks.jar ... -rf json -rff FILE).

Prints, per benchmark and parameters, the mean over measurement iterations and the best iteration.
On a shared machine the best iteration is the fairer figure to set beside openblas_bench.py's
best-of-5. Run: /usr/bin/python3 bench/python/jmh_gflops.py FILE...
"""
import json
import sys

for path in sys.argv[1:]:
    with open(path) as f:
        runs = json.load(f)
    for run in runs:
        metric = run.get("secondaryMetrics", {}).get("gflop")
        if metric is None:
            continue
        values = [v for fork in metric["rawData"] for v in fork]
        params = " ".join(f"{k}={v}" for k, v in run.get("params", {}).items())
        name = run["benchmark"].rsplit(".", 2)[-2]
        print(f"{name:10} {params:45} mean {sum(values) / len(values):7.1f}  best {max(values):7.1f} GFLOP/s")
