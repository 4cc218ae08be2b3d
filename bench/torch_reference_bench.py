"""Times the reference DiffIR in PyTorch eager: the peer the Java engine is measured against.

    /usr/bin/python3 bench/torch_reference_bench.py                     # all cases on the CPU, 2 threads
    /usr/bin/python3 bench/torch_reference_bench.py --cases infer64,train --repeats 3
    python3 bench/torch_reference_bench.py --device cuda --csv torch_model.csv   # on the GPU machine

On CUDA (float32, TF32 off as our backend runs by default, cudnn.benchmark on as our cuDNN algorithm
search) each run is timed with CUDA events after the warm-up, and the peak is torch's allocated device
memory; the cases and sizes are those of diffir.bench.ModelTiming, which times our backend.

Cases (model: app/src/test/python/diffir_ref.py, float32, random weights):
  infer<N>  S2 inference of the GoPro deblurring config (d 48, blocks [3,5,6,6], r 4, heads [1,2,4,8], ffn 2,
            m 5; DiffIR-demotionblur/options/train_DiffIRS2.yml), one N x N RGB image, under torch.no_grad():
            CPEN_S2, the 4 reverse steps from a given noise, DIRformer.
  train     one S2 joint training step of a small config (d 16, blocks [1,1,1,1], r 1, heads [1,2,4,8], ffn 2,
            m 1), batch 4 of 64 x 64: frozen S1 CPEN forward (no grad), S2 training forward, L1 + L1 loss,
            backward, Adam step (lr 2e-4, betas 0.9/0.99), zero_grad. No EMA update.

Each case runs in a fresh subprocess (so peak RSS is that case's own), with `warmup` untimed runs and then
`repeats` timed runs (at most 2 for inputs of 256 px or more unless --repeats-big says otherwise: about 10 s each).

With --shared DIR the weights and inputs are written there the first time (weights as basicsr-style `.pth`
files {"params": state_dict}, inputs as .npy) and read back afterwards, so that diffir.bench.ModelTiming
--inputs DIR runs exactly the same network on exactly the same data: gopro_s2.pth, infer<N>_lq.npy,
infer_noise.npy; train_s1.pth, train_s2.pth, train_lq.npy, train_gt.npy, train_eps.npy. The first run's
result goes to torch_<case>.npy (the restored image; for train the loss before the step) for the
comparison of outputs (bench/compare_table.py). One JSON line per case on stdout:
{"impl", "case", "config", "size", "batch", "threads", "warmup", "runs", "times_s", "median_s", "min_s",
"peak_rss_mib", "params", "torch"} (on CUDA also "device" and "peak_cuda_mib"). With --csv, also one line
case,median_ms,peak_mib per case appended to that file (peak_mib: CUDA memory on CUDA, RSS on the CPU).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REF_DIR = os.path.normpath(os.path.join(HERE, "..", "app", "src", "test", "python"))
ALL_CASES = ("infer64", "infer128", "infer256", "train")
BIG_INPUT_MAX_RUNS = 2


def shared_weights(model, shared, file):
    """With a shared folder: the model's weights from shared/file, written there first if it is not there yet."""
    import torch
    if not shared:
        return model
    path = os.path.join(shared, file)
    if os.path.exists(path):
        model.load_state_dict(torch.load(path, map_location="cpu")["params"], strict=True)
    else:
        tmp = path + ".tmp"
        torch.save({"params": model.state_dict()}, tmp)
        os.replace(tmp, path)
    return model


def shared_input(tensor, shared, file):
    """With a shared folder: the input stored in shared/file (.npy), written there first if it is not there yet."""
    import numpy as np
    import torch
    if not shared:
        return tensor
    path = os.path.join(shared, file)
    if os.path.exists(path):
        return torch.from_numpy(np.load(path)).to(tensor.device)
    tmp = path + ".tmp.npy"
    np.save(tmp, tensor.detach().cpu().numpy().astype(np.float32))
    os.replace(tmp, path)
    return tensor


def save_result(tensor, shared, name):
    import numpy as np
    if shared:
        np.save(os.path.join(shared, f"torch_{name}.npy"), tensor.detach().cpu().numpy().astype(np.float32))


def build_case(name, device="cpu", shared=None):
    """Returns (run, description): run() does one timed unit of work on the device."""
    import torch
    sys.path.insert(0, REF_DIR)
    import diffir_ref as ref

    torch.manual_seed(0)
    saved = []
    if name.startswith("infer"):
        size = int(name[len("infer"):])
        model = shared_weights(ref.DiffIRS2(ref.GOPRO), shared, "gopro_s2.pth").eval().to(device)
        lq = shared_input(torch.rand(1, 3, size, size), shared, f"{name}_lq.npy").to(device)
        noise = shared_input(torch.randn(1, ref.GOPRO.ipr_dim), shared, "infer_noise.npy").to(device)

        def run():
            with torch.no_grad():
                out = model.infer(lq, noise)[0]
            if not saved:
                saved.append(True)
                save_result(out, shared, name)

        return run, dict(config="gopro", size=size, batch=1, params=sum(p.numel() for p in model.parameters()))

    if name == "train":
        cfg = ref.Config(task="deblur", dim=16, num_blocks=(1, 1, 1, 1), num_refinement_blocks=1, heads=(1, 2, 4, 8),
                         ffn_expansion_factor=2, n_encoder_res=1)
        s1 = shared_weights(ref.DiffIRS1(cfg), shared, "train_s1.pth").eval().to(device)
        s2 = shared_weights(ref.DiffIRS2(cfg), shared, "train_s2.pth").train().to(device)
        opt = torch.optim.Adam(s2.parameters(), lr=2e-4, betas=(0.9, 0.99))
        lq = shared_input(torch.rand(4, 3, 64, 64), shared, "train_lq.npy").to(device)
        gt = shared_input(torch.rand(4, 3, 64, 64), shared, "train_gt.npy").to(device)
        eps = shared_input(torch.randn(4, cfg.ipr_dim), shared, "train_eps.npy").to(device)

        def run():
            with torch.no_grad():
                ipr_s1 = s1.E(lq, gt)
            out, ipr_s2, _, _ = s2.train_forward(lq, ipr_s1, eps)
            loss, _, _ = ref.joint_loss(out, gt, ipr_s2, ipr_s1)
            if not saved:
                saved.append(True)
                save_result(loss.reshape(1), shared, name)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        return run, dict(config="d16_b1111_r1_m1", size=64, batch=4, params=sum(p.numel() for p in s2.parameters()))

    raise SystemExit(f"unknown case {name!r}; known: {', '.join(ALL_CASES)} (infer<N> for any N divisible by 8)")


def run_one(name, threads, warmup, repeats, device="cpu", csv=None, shared=None, repeats_big=BIG_INPUT_MAX_RUNS):
    import torch
    torch.set_num_threads(threads)
    cuda = device == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    run, info = build_case(name, device, shared)
    if info["size"] >= 256 and not cuda:
        repeats = min(repeats, repeats_big)
    for _ in range(warmup):
        run()
    times = []
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(repeats):
        if cuda:
            start.record()
            run()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    extra = {}
    if cuda:
        extra = {"device": torch.cuda.get_device_name(), "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1)}
    print(json.dumps({"impl": "pytorch", "case": name, **info, "threads": torch.get_num_threads(), "warmup": warmup,
                      "runs": repeats, "times_s": [round(t, 5) for t in times],
                      "median_s": round(statistics.median(times), 5), "min_s": round(min(times), 5),
                      "peak_rss_mib": round(peak_kib / 1024, 1), "torch": torch.__version__, **extra}), flush=True)
    if csv:
        peak = extra["peak_cuda_mib"] if cuda else round(peak_kib / 1024, 1)
        with open(csv, "a") as f:
            f.write(f"{name},{statistics.median(times) * 1e3:.4f},{peak}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated: " + ", ".join(ALL_CASES))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5, help=f"timed runs (at most {BIG_INPUT_MAX_RUNS} at >= 256 px)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--csv", help="append case,median_ms,peak_mib lines to this file")
    p.add_argument("--shared", help="folder for the weights and inputs shared with diffir.bench.ModelTiming --inputs")
    p.add_argument("--repeats-big", type=int, default=BIG_INPUT_MAX_RUNS, help="at most this many timed runs at >= 256 px on the CPU")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: run a single case in this process
    a = p.parse_args()
    if a.threads < 1 or a.warmup < 0 or a.repeats < 1:
        raise SystemExit("--threads and --repeats must be >= 1, --warmup >= 0")
    if a.one:
        run_one(a.one, a.threads, a.warmup, a.repeats, a.device, a.csv, a.shared, a.repeats_big)
        return
    for case in [c.strip() for c in a.cases.split(",") if c.strip()]:
        cmd = [sys.executable, os.path.abspath(__file__), "--one", case, "--threads", str(a.threads),
               "--warmup", str(a.warmup), "--repeats", str(a.repeats), "--device", a.device,
               "--repeats-big", str(a.repeats_big)]
        if a.shared:
            os.makedirs(a.shared, exist_ok=True)
            cmd += ["--shared", a.shared]
        if a.csv:
            cmd += ["--csv", a.csv]
        r = subprocess.run(cmd)
        if r.returncode:
            raise SystemExit(f"case {case} failed (exit {r.returncode})")


if __name__ == "__main__":
    main()
