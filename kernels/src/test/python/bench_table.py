"""The GPU check's final table: KernelTiming's CSV (op,ms,bytes,flops,floor_ms) next to PyTorch eager's
(op,ms). Speedup is torch time over ours; GB/s is ours; % of floor is the floor time over ours; host us
is our host's time to queue one call (when the CSV has it).
An op of ours suffixed _own (own kernels where the default uses cuDNN) is compared with torch's op.

    python3 bench_table.py ours.csv torch.csv
"""
import sys


def read(path, width):
    rows = {}
    order = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) < width:
                    continue
                rows[parts[0]] = parts[1:]
                order.append(parts[0])
    except OSError:
        pass
    return rows, order


def main():
    ours, order = read(sys.argv[1], 5)
    torch, torch_order = read(sys.argv[2], 2)
    for name in torch_order:
        if name not in ours:
            order.append(name)
    print(f"{'op':<24}{'ours ms':>10}{'torch ms':>10}{'speedup':>9}{'GB/s':>8}{'% floor':>9}{'host us':>9}")
    for name in order:
        o = ours.get(name)
        t = torch.get(name) or torch.get(name.replace("_own", ""))
        ours_ms = float(o[0]) if o else None
        torch_ms = float(t[0]) if t else None
        gbps = float(o[1]) / (ours_ms * 1e-3) / 1e9 if o and ours_ms > 0 else None
        floor = 100 * float(o[3]) / ours_ms if o and ours_ms > 0 else None
        speed = torch_ms / ours_ms if ours_ms and torch_ms else None
        host = float(o[4]) if o and len(o) > 4 else None
        fmt = lambda v, f: (f % v) if v is not None else "-"
        print(f"{name:<24}{fmt(ours_ms, '%.4f'):>10}{fmt(torch_ms, '%.4f'):>10}{fmt(speed, '%.2fx'):>9}"
              f"{fmt(gbps, '%.0f'):>8}{fmt(floor, '%.0f%%'):>9}{fmt(host, '%.1f'):>9}")


if __name__ == "__main__":
    main()
