package diffir.kernels;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;

/** Glue for elementwise.cu: strided copies, broadcasting binary ops, scalar and unary ops, Adam. */
final class ElementwiseKernels {
    private ElementwiseKernels() {}

    static void copyStrided(CudaBackend b, Tensor src, long srcOffset, long[] srcStrides,
                            Tensor dst, long dstOffset, long[] dstStrides, int[] shape) {
        if (srcStrides.length != shape.length || dstStrides.length != shape.length)
            throw new IllegalArgumentException("copyStrided: shape " + Shapes.str(shape) + " with " + srcStrides.length
                    + " source and " + dstStrides.length + " destination strides");
        long n = Shapes.numel(shape);
        if (n == 0) return;
        checkReach("copyStrided source", src, srcOffset, srcStrides, shape);
        checkReach("copyStrided destination", dst, dstOffset, dstStrides, shape);
        Strides s = Strides.collapse(shape, srcStrides, dstStrides);
        long from = b.ptr(src) + 4 * srcOffset, to = b.ptr(dst) + 4 * dstOffset;
        if (s.contiguous()) {
            b.api().copy(to, from, 4 * n);
        } else if (s.rowsOf4(to)) {
            // A float4 of the destination per thread: pixel (un)shuffles, concatenations, broadcasts.
            long items = n / 4;
            b.launch("copy_rows4", b.grid("copy_rows4", items), CudaBackend.block(), 0, new Ptr(from), new Ptr(to),
                    s.packRows("copyStrided"), Math.toIntExact(items), s.rowLength() / 4, Math.toIntExact(s.s0[s.rank() - 1]),
                    s.rowsOf4Aligned0(from) ? 1 : 0);
        } else {
            b.launch("copy_strided", b.grid("copy_strided", n), CudaBackend.block(), 0, new Ptr(from), new Ptr(to), s.pack("copyStrided"));
        }
        Reference.reachabilityFence(src);
        Reference.reachabilityFence(dst);
    }

    /**
     * True when an operand with these (collapsed) strides can be read by binary_rows4: broadcast along
     * the last axis (stride 0), or contiguous along it with 16-byte aligned row starts.
     */
    private static boolean operandOf4(long[] strides, int last, long address) {
        if (strides[last] == 0) return true;
        if (strides[last] != 1 || address % 16 != 0) return false;
        for (int i = 0; i < last; i++) if (strides[i] % 4 != 0) return false;
        return true;
    }

    /** Fails clearly when a strided walk would leave the tensor (a kernel would fault or corrupt memory). */
    private static void checkReach(String what, Tensor t, long offset, long[] strides, int[] shape) {
        long lo = offset, hi = offset;
        for (int i = 0; i < shape.length; i++) {
            long span = (long) (shape[i] - 1) * strides[i];
            if (span < 0) lo += span;
            else hi += span;
        }
        if (lo < 0 || hi >= t.numel())
            throw new IllegalArgumentException(what + ": shape " + Shapes.str(shape) + " at offset " + offset
                    + " reaches elements [" + lo + ", " + hi + "] of a tensor of " + t.numel());
    }

    static void binary(CudaBackend b, BinaryOp op, Tensor a, Tensor c, Tensor out) {
        int[] shape = out.shape();
        if (!Shapes.same(Shapes.broadcast(a.shape(), c.shape()), shape))
            throw new IllegalArgumentException(op + ": " + Shapes.str(a.shape()) + " and " + Shapes.str(c.shape())
                    + " do not broadcast to " + Shapes.str(shape));
        long n = out.numel();
        if (n == 0) return;
        if (Shapes.same(a.shape(), shape) && Shapes.same(c.shape(), shape)) {
            b.launch("binary_same", b.grid("binary_same", (n + 7) / 8), CudaBackend.block(), 0, op.ordinal(), a, c, out, (int) n);
            return;
        }
        Strides s = Strides.collapse(shape, Shapes.broadcastStrides(a.shape(), shape), Shapes.broadcastStrides(c.shape(), shape));
        int last = s.rank() - 1;
        long pa = b.ptr(a), pc = b.ptr(c);
        boolean rows4 = s.rowLength() % 4 == 0 && b.ptr(out) % 16 == 0 && operandOf4(s.s0, last, pa) && operandOf4(s.s1, last, pc);
        if (rows4) {
            // Bias adds, per-channel scales: a float4 of out per thread, broadcast operands read once per row.
            long items = n / 4;
            b.launch("binary_rows4", b.grid("binary_rows4", items), CudaBackend.block(), 0, op.ordinal(), a, c, out,
                    s.packRows(op.toString()), Math.toIntExact(items), s.rowLength() / 4, (int) s.s0[last], (int) s.s1[last]);
            return;
        }
        b.launch("binary_strided", b.grid("binary_strided", n), CudaBackend.block(), 0, op.ordinal(), a, c, out, s.pack(op.toString()));
    }

    static void scalar(CudaBackend b, ScalarOp op, Tensor a, float s, Tensor out) {
        int n = sameSize(op.toString(), a, out);
        if (n > 0) b.launch("scalar_op", b.grid("scalar_op", (n + 7L) / 8), CudaBackend.block(), 0, op.ordinal(), a, s, out, n);
    }

    static void unary(CudaBackend b, UnaryOp op, Tensor a, float param, Tensor out) {
        int n = sameSize(op.toString(), a, out);
        if (n > 0) b.launch("unary_op", b.grid("unary_op", (n + 7L) / 8), CudaBackend.block(), 0, op.ordinal(), a, param, out, n);
    }

    static void unaryBackward(CudaBackend b, UnaryOp op, Tensor x, Tensor y, Tensor gy, float param, Tensor gx) {
        String what = op + " backward";
        int n = sameSize(what, x, gx);
        sameSize(what, y, gx);
        sameSize(what, gy, gx);
        if (n > 0) b.launch("unary_backward", b.grid("unary_backward", (n + 7L) / 8), CudaBackend.block(), 0, op.ordinal(), x, y, gy, param, gx, n);
    }

    /** PyTorch's Adam/AdamW step, with the constants as {@link AdamParams} computes them for every backend. */
    static void adam(CudaBackend b, Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) {
        checkAdam(param, grad, m, v);
        int n = Math.toIntExact(param.numel());
        if (n == 0) return;
        float coupledDecay = p.decoupled() ? 0f : p.weightDecay();
        b.launch("adam_step", b.grid("adam_step", (n + 3L) / 4), CudaBackend.block(), 0, param, grad, m, v, n,
                p.beta1(), p.beta2(), p.oneMinusBeta1(), p.oneMinusBeta2(), p.eps(), coupledDecay, p.decoupledDecay(),
                p.biasCorrection2Sqrt(), p.stepSize());
    }

    private static void checkAdam(Tensor param, Tensor grad, Tensor m, Tensor v) {
        int[] shape = param.shape();
        if (!Shapes.same(shape, grad.shape()) || !Shapes.same(shape, m.shape()) || !Shapes.same(shape, v.shape()))
            throw new IllegalArgumentException("adam: param " + Shapes.str(shape) + ", grad " + Shapes.str(grad.shape())
                    + ", exp_avg " + Shapes.str(m.shape()) + " and exp_avg_sq " + Shapes.str(v.shape()) + " must have one shape");
    }

    /** Tensors per adam_many launch, ints per tensor in its table, elements per block (as in elementwise.cu). */
    static final int ADAM_MAX_TENSORS = 20, ADAM_ENTRY = 11, ADAM_CHUNK = 2048;

    /**
     * The Adam step of many parameters with one launch per 20 of them (PyTorch's fused multi-tensor
     * Adam does the same): each launch's tensors travel in a struct of kernel parameters, so nothing
     * is uploaded and nothing waits.
     */
    static void adamMany(CudaBackend b, Tensor[] params, Tensor[] grads, Tensor[] m, Tensor[] v, AdamParams p) {
        if (grads.length != params.length || m.length != params.length || v.length != params.length)
            throw new IllegalArgumentException("adamMany: " + params.length + " params, " + grads.length + " grads, " + m.length
                    + " exp_avg and " + v.length + " exp_avg_sq");
        for (int i = 0; i < params.length; i++) checkAdam(params[i], grads[i], m[i], v[i]);
        float coupledDecay = p.decoupled() ? 0f : p.weightDecay();
        int[] table = new int[1 + ADAM_MAX_TENSORS * ADAM_ENTRY];
        int count = 0, blocks = 0;
        List<Tensor> held = new ArrayList<>();
        for (int i = 0; i <= params.length; i++) {
            boolean last = i == params.length;
            if (!last && params[i].numel() == 0) continue;
            if (count > 0 && (last || count == ADAM_MAX_TENSORS)) {
                table[0] = count;
                b.launch("adam_many", Dim3.of(blocks), CudaBackend.block(), 0, table.clone(), p.beta1(), p.beta2(), p.oneMinusBeta1(),
                        p.oneMinusBeta2(), p.eps(), coupledDecay, p.decoupledDecay(), p.biasCorrection2Sqrt(), p.stepSize());
                Reference.reachabilityFence(held);
                held.clear();
                java.util.Arrays.fill(table, 0);
                count = 0;
                blocks = 0;
            }
            if (last) break;
            Tensor[] four = {params[i], grads[i], m[i], v[i]};
            int at = 1 + count * ADAM_ENTRY;
            boolean aligned = true;
            for (int k = 0; k < 4; k++) {
                long address = b.ptr(four[k]);
                table[at + 2 * k] = (int) address;
                table[at + 2 * k + 1] = (int) (address >>> 32);
                aligned &= address % 16 == 0;
                held.add(four[k]);
            }
            int n = Math.toIntExact(params[i].numel());
            table[at + 8] = n;
            table[at + 9] = blocks;
            table[at + 10] = aligned ? 1 : 0;
            blocks += (n + ADAM_CHUNK - 1) / ADAM_CHUNK;
            count++;
        }
    }

    private static int sameSize(String what, Tensor a, Tensor out) {
        if (a.numel() != out.numel())
            throw new IllegalArgumentException(what + ": input " + Shapes.str(a.shape()) + " and output "
                    + Shapes.str(out.shape()) + " differ in size");
        return Math.toIntExact(out.numel());
    }
}
