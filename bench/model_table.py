"""The GPU check's model table: diffir.bench.ModelTiming's CSV (case,ms,host_ms,launches,host_syncs,peak_mib)
next to bench/torch_reference_bench.py --device cuda --csv (case,ms,peak_mib). Speedup is torch time over ours.

    python3 bench/model_table.py model.csv torch_model.csv
"""
import sys


def read(path):
    rows, order = {}, []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) >= 3 and parts[0] not in rows:
                    rows[parts[0]] = parts[1:]
                    order.append(parts[0])
    except OSError:
        pass
    return rows, order


def main():
    ours, order = read(sys.argv[1])
    torch, torch_order = read(sys.argv[2])
    order += [c for c in torch_order if c not in ours]
    num = lambda v: float(v) if v not in (None, "") else None
    fmt = lambda v, f: (f % v) if v is not None else "-"
    print(f"{'case':<10}{'ours ms':>10}{'torch ms':>10}{'speedup':>9}{'host ms':>9}{'launches':>9}{'syncs':>6}"
          f"{'ours MiB':>10}{'torch MiB':>10}")
    for case in order:
        o, t = ours.get(case), torch.get(case)
        ours_ms = num(o[0]) if o else None
        torch_ms = num(t[0]) if t else None
        speed = torch_ms / ours_ms if ours_ms and torch_ms else None
        print(f"{case:<10}{fmt(ours_ms, '%.3f'):>10}{fmt(torch_ms, '%.3f'):>10}{fmt(speed, '%.2fx'):>9}"
              f"{fmt(num(o[1]) if o else None, '%.3f'):>9}{(o[2] if o else '-'):>9}{(o[3] if o else '-'):>6}"
              f"{fmt(num(o[4]) if o else None, '%.1f'):>10}{fmt(num(t[1]) if t else None, '%.1f'):>10}")


if __name__ == "__main__":
    main()
