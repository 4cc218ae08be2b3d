"""The GPU check's two summary tables: our timings next to PyTorch eager's, speedup = torch time / ours.

    python3 scripts/bench_tables.py ops ours.csv torch.csv
        KernelTiming's CSV (op,ms,bytes,flops,floor_ms,host_us) and torch_eager_bench.py's (op,ms): ours ms,
        torch ms, speedup, our GB/s, % of the floor (floor time over ours), host us (our host's time to queue
        one call). An op of ours suffixed _own (own kernels where the default uses cuDNN) is compared with
        torch's op.
    python3 scripts/bench_tables.py models model.csv torch_model.csv
        diffir.bench.ModelTiming's CSV (case,ms,host_ms,launches,host_syncs,peak_mib) and
        bench/torch_reference_bench.py --csv's (case,ms,peak_mib): ours ms, torch ms, speedup, host ms,
        launches, host waits, and the peak MiB of each.

A missing file, row or value shows as "-".
"""
import sys


def read(path, width):
    """{name: its other columns} of the rows with at least width columns (a name's first row wins), and the
    names in file order; nothing when the file is missing."""
    rows, order = {}, []
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) >= width and parts[0] not in rows:
                    rows[parts[0]] = parts[1:]
                    order.append(parts[0])
    except OSError:
        pass
    return rows, order


def joined(ours_path, ours_width, torch_path, torch_width):
    """Both files' rows, and every name: ours in their order, then those only torch has."""
    ours, order = read(ours_path, ours_width)
    torch, torch_order = read(torch_path, torch_width)
    return ours, torch, order + [n for n in torch_order if n not in ours]


def num(row, i):
    return float(row[i]) if row and len(row) > i and row[i] != "" else None


def fmt(v, f):
    return f % v if v is not None else "-"


def speedup(ours_ms, torch_ms):
    return torch_ms / ours_ms if ours_ms and torch_ms else None


def ops(ours_path, torch_path):
    ours, torch, order = joined(ours_path, 5, torch_path, 2)
    print(f"{'op':<24}{'ours ms':>10}{'torch ms':>10}{'speedup':>9}{'GB/s':>8}{'% floor':>9}{'host us':>9}")
    for name in order:
        o = ours.get(name)
        t = torch.get(name) or torch.get(name.replace("_own", ""))
        ours_ms, torch_ms = num(o, 0), num(t, 0)
        gbps = num(o, 1) / (ours_ms * 1e-3) / 1e9 if ours_ms else None
        floor = 100 * num(o, 3) / ours_ms if ours_ms else None
        print(f"{name:<24}{fmt(ours_ms, '%.4f'):>10}{fmt(torch_ms, '%.4f'):>10}{fmt(speedup(ours_ms, torch_ms), '%.2fx'):>9}"
              f"{fmt(gbps, '%.0f'):>8}{fmt(floor, '%.0f%%'):>9}{fmt(num(o, 4), '%.1f'):>9}")


def models(ours_path, torch_path):
    ours, torch, order = joined(ours_path, 3, torch_path, 3)
    print(f"{'case':<10}{'ours ms':>10}{'torch ms':>10}{'speedup':>9}{'host ms':>9}{'launches':>9}{'syncs':>6}"
          f"{'ours MiB':>10}{'torch MiB':>10}")
    for case in order:
        o, t = ours.get(case), torch.get(case)
        ours_ms, torch_ms = num(o, 0), num(t, 0)
        print(f"{case:<10}{fmt(ours_ms, '%.3f'):>10}{fmt(torch_ms, '%.3f'):>10}{fmt(speedup(ours_ms, torch_ms), '%.2fx'):>9}"
              f"{fmt(num(o, 1), '%.3f'):>9}{(o[2] if o else '-'):>9}{(o[3] if o else '-'):>6}"
              f"{fmt(num(o, 4), '%.1f'):>10}{fmt(num(t, 1), '%.1f'):>10}")


if __name__ == "__main__":
    tables = {"ops": ops, "models": models}
    if len(sys.argv) != 4 or sys.argv[1] not in tables:
        sys.exit("usage: bench_tables.py ops|models OURS.csv TORCH.csv")
    tables[sys.argv[1]](sys.argv[2], sys.argv[3])
