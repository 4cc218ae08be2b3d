"""The ratio table of bench/compare-torch: PyTorch's JSON lines (torch_reference_bench.py) next to our CSV
(diffir.bench.ModelTiming: case,ms,host_ms,launches,host_syncs,peak_mib), with the targets of the CPU work.

    python3 bench/compare_table.py torch.jsonl ours.csv SHARED_DIR loads.csv

ratio = our median time / PyTorch's (below 1: we are faster). diff = |ours - torch| / |torch| of the first run's
result (restored image; loss before the training step), both saved in SHARED_DIR. load = the 1-minute load
average when each side started (torch/ours).
"""
import json
import sys

TARGETS = {"infer64": 0.5, "infer128": 0.5, "infer256": 0.5, "train": 0.5}


def rel_diff(shared, case):
    try:
        import numpy as np
        a = np.load(f"{shared}/ours_{case}.npy").astype(np.float64).ravel()
        b = np.load(f"{shared}/torch_{case}.npy").astype(np.float64).ravel()
        if a.shape != b.shape:
            return f"shape {a.shape} vs {b.shape}"
        return "%.1e" % (np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    except Exception as e:  # a side that failed leaves no file
        return "-"


def main():
    torch_path, ours_path, shared, loads_path = sys.argv[1:5]
    torch, order = {}, []
    for line in open(torch_path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            torch[r["case"]] = r
            order.append(r["case"])
    ours = {}
    for line in open(ours_path):
        f = line.strip().split(",")
        if len(f) >= 6:
            ours[f[0]] = f
            if f[0] not in order:
                order.append(f[0])
    loads = {}
    try:
        for line in open(loads_path):
            side, case, l0, _ = line.strip().split(",")
            loads.setdefault(case, {})[side] = l0
    except OSError:
        pass
    print()
    print(f"{'case':<10}{'torch s':>9}{'ours s':>9}{'ratio':>8}{'target':>11}{'torch MiB':>11}{'ours MiB':>10}"
          f"{'mem ratio':>10}{'diff':>9}  {'load torch/ours':<16}")
    for case in order:
        t, o = torch.get(case), ours.get(case)
        ts = t["median_s"] if t else None
        os_ = float(o[1]) / 1e3 if o else None
        tm = t.get("peak_cuda_mib", t["peak_rss_mib"]) if t else None
        om = float(o[5]) if o else None
        ratio = os_ / ts if ts and os_ else None
        target = TARGETS.get(case)
        ok = "" if ratio is None or target is None else (" ok" if ratio <= target else " MISS")
        mem = om / tm if om and tm else None
        ld = loads.get(case, {})
        fmt = lambda v, f: (f % v) if v is not None else "-"
        print(f"{case:<10}{fmt(ts, '%.3f'):>9}{fmt(os_, '%.3f'):>9}{fmt(ratio, '%.2f'):>8}"
              f"{(fmt(target, '<=%.1f') + ok) if target else '-':>11}{fmt(tm, '%.0f'):>11}{fmt(om, '%.0f'):>10}"
              f"{fmt(mem, '%.2f'):>10}{rel_diff(shared, case):>9}  {ld.get('torch', '-')}/{ld.get('ours', '-')}")
    print("ratio: our median time over PyTorch's; mem ratio: our peak RSS over PyTorch's (peak device memory on CUDA);")
    print("diff: |ours - torch| / |torch| of the restored image (loss for train); load: 1-min load average at each start.")


if __name__ == "__main__":
    main()
