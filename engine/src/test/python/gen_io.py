"""Fixtures for the checkpoint and array readers (PthReader, Npy): files written by torch.save and
numpy, plus the same values as float32 safetensors to compare against.

Run with Debian's PyTorch: /usr/bin/python3 engine/src/test/python/gen_io.py
Writes engine/src/test/resources/fixtures/io/*.{pth,npy} and io/*_ref.safetensors.
"""
import collections
import os
import zipfile

import numpy as np
import torch

from fixture_io import OUT_DIR, save

IO_DIR = os.path.join(OUT_DIR, "io")


def path(name):
    return os.path.join(IO_DIR, name)


def ref(name, tensors):
    """The expected float32 values of a file's tensors."""
    save("io/" + name + "_ref", {k: v.detach().to(torch.float32) for k, v in tensors.items()})


def small_model_state(seed):
    torch.manual_seed(seed)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, bias=True),
        torch.nn.BatchNorm2d(4),  # running stats and an int64 num_batches_tracked
        torch.nn.Flatten(),
        torch.nn.Linear(5, 3),
    )
    m[1].running_mean.uniform_(-1, 1)
    m[1].num_batches_tracked += 17
    return m.state_dict()


def state_dicts():
    sd = small_model_state(1)
    torch.save(sd, path("state_dict.pth"))
    ref("state_dict", sd)
    # The same state dict pickled with protocol 4 (STACK_GLOBAL, MEMOIZE, FRAME, SHORT_BINUNICODE).
    torch.save(sd, path("protocol4.pth"), pickle_protocol=4)
    # The legacy (pre-1.6) non-zip format, which we refuse with advice (its bytes vary from run to run).
    torch.save(sd, path("legacy.pth"), _use_new_zipfile_serialization=False)

    params, ema = small_model_state(2), small_model_state(3)
    torch.save({"params": params, "params_ema": ema}, path("params.pth"))
    ref("params", params)
    ref("params_ema", ema)

    t1, t2, t3 = torch.randn(2, 3), torch.randn(5), torch.randn(1, 2, 1)
    nested = {"a": {"b": {"c": t1}, "d": t2}, "e": t3, "step": 7, "name": "run", "flags": [1, 2.5, None]}
    torch.save(nested, path("nested.pth"))
    ref("nested", {"a.b.c": t1, "a.d": t2, "e": t3})


def views():
    """Views of storages, several element types, scalars and empty tensors."""
    g = torch.Generator().manual_seed(5)
    base = torch.randn(4, 7, generator=g)
    shared = torch.randn(30, generator=g)
    big = torch.randn(3, 4, 5, generator=g)
    t = collections.OrderedDict()
    t["transposed"] = base.t()  # strides (1, 7)
    t["narrowed"] = base[1:3, 2:6]  # storage offset 9, row stride 7
    t["shared_a"] = shared[:12].view(3, 4)  # two tensors on one storage
    t["shared_b"] = shared[10:25].view(5, 3)  # overlapping the first, offset 10
    t["permuted"] = big.permute(2, 0, 1)
    t["stepped"] = big[:, ::2, 1::2]  # strides (20, 10, 2), offset 1
    t["expanded"] = torch.randn(3, 1, generator=g).expand(3, 4)  # a zero stride
    t["half"] = torch.randn(3, 5, generator=g).half()
    t["bfloat16"] = torch.randn(4, generator=g).bfloat16()
    t["double"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    t["int64"] = torch.arange(-6, 6, dtype=torch.int64).view(3, 4)
    t["int32"] = torch.tensor([[-(2 ** 20), 3], [5, 2 ** 24]], dtype=torch.int32)
    t["uint8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    t["bool"] = torch.tensor([True, False, True])
    t["scalar"] = torch.tensor(3.25)
    t["scalar_int"] = torch.tensor(42)
    t["empty"] = torch.zeros(0)
    t["empty_2d"] = torch.zeros(2, 0, 3)
    t["parameter"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    t["same_again"] = t["transposed"]  # one tensor object under two names (pickle memo)
    torch.save(t, path("views.pth"))
    ref("views", {k: v.detach() for k, v in t.items()})


class _Evil:
    """Would run a shell command when unpickled by a trusting loader."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').system('touch /tmp/diffir_pwned_eval')",))


def write_zip(name, entries):
    """A zip with fixed timestamps, so regenerating leaves the file unchanged."""
    with zipfile.ZipFile(path(name), "w") as z:
        for entry, data in entries:
            z.writestr(zipfile.ZipInfo(entry, date_time=(2020, 1, 1, 0, 0, 0)), data)


def malicious():
    # os.system via GLOBAL (protocol 2), hidden inside an otherwise normal state dict.
    torch.save({"weight": torch.ones(2), "payload": _Evil("touch /tmp/diffir_pwned_marker")}, path("malicious_os_system.pth"))
    # The same refusal for a hand-written pickle naming os.system directly (GLOBAL "os\nsystem").
    pickle = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    write_zip("malicious_handmade.pth", [("archive/data.pkl", pickle), ("archive/version", "3\n")])
    # builtins.eval via STACK_GLOBAL (protocol 4).
    torch.save({"payload": _EvalEvil()}, path("malicious_eval.pth"), pickle_protocol=4)


def npy_files():
    rng = np.random.default_rng(7)
    arrays = collections.OrderedDict()
    arrays["f4_2d"] = rng.standard_normal((3, 5)).astype("<f4")
    arrays["f8_3d"] = rng.standard_normal((2, 3, 4))
    arrays["f2"] = rng.standard_normal(7).astype("<f2")
    arrays["i8"] = np.arange(-5, 7, dtype="<i8").reshape(3, 4)
    arrays["u1"] = np.array([0, 1, 200, 255], dtype="u1")
    arrays["b1"] = np.array([[True, False], [False, True]])
    arrays["i4_big_endian"] = np.array([1, -2, 300000], dtype=">i4")
    arrays["f4_scalar"] = np.array(2.5, dtype="<f4")
    arrays["f4_empty"] = np.zeros((0, 3), dtype="<f4")
    arrays["f4_1d"] = rng.standard_normal(9).astype("<f4")
    for name, a in arrays.items():
        np.save(path(name + ".npy"), a)
    # Header versions 2.0 and 3.0, written by numpy's own writer.
    for version in [(2, 0), (3, 0)]:
        with open(path("f4_v%d.npy" % version[0]), "wb") as f:
            np.lib.format.write_array(f, arrays["f4_2d"], version=version)
    save("io/npy_ref", {k: torch.from_numpy(a.astype("<f4")) for k, a in arrays.items()})
    # Arrays we refuse, each with its own message.
    np.save(path("bad_fortran.npy"), np.asfortranarray(rng.standard_normal((3, 4)).astype("<f4")))
    np.save(path("bad_complex.npy"), np.array([1 + 2j, 3j], dtype="<c8"))
    np.save(path("bad_structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))


def main():
    os.makedirs(IO_DIR, exist_ok=True)
    state_dicts()
    views()
    malicious()
    npy_files()
    # Not a checkpoint: a zip without data.pkl.
    write_zip("not_torch.zip", [("readme.txt", "hello")])
    for name in sorted(os.listdir(IO_DIR)):
        print("  io/%s %d bytes" % (name, os.path.getsize(path(name))))


if __name__ == "__main__":
    main()
