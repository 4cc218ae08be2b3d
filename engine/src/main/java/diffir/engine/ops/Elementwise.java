package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;

/** Elementwise ops: broadcasting binary, tensor-scalar and unary, with their gradients. */
final class Elementwise {
    private Elementwise() {}

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        checkSameDevice(a, b);
        int[] shape = Shapes.broadcast(a.shape(), b.shape());
        Tensor out = Tensor.empty(a.device(), shape);
        a.backend().binary(op, a, b, out);
        return Autograd.record(op.name().toLowerCase(), out, new Tensor[]{a, b}, g -> {
            Tensor ga = null, gb = null;
            switch (op) {
                case ADD -> {
                    if (Autograd.wants(a)) ga = Reduce.sumTo(g, a.shape());
                    if (Autograd.wants(b)) gb = Reduce.sumTo(g, b.shape());
                }
                case SUB -> {
                    if (Autograd.wants(a)) ga = Reduce.sumTo(g, a.shape());
                    if (Autograd.wants(b)) gb = Reduce.sumTo(unaryRaw(UnaryOp.NEG, g, 0), b.shape());
                }
                case MUL -> {
                    if (Autograd.wants(a)) ga = Reduce.sumTo(binaryRaw(BinaryOp.MUL, g, b), a.shape());
                    if (Autograd.wants(b)) gb = Reduce.sumTo(binaryRaw(BinaryOp.MUL, g, a), b.shape());
                }
                case DIV -> {
                    // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 = -out/b
                    if (Autograd.wants(a)) ga = Reduce.sumTo(binaryRaw(BinaryOp.DIV, g, b), a.shape());
                    if (Autograd.wants(b)) {
                        Tensor t = binaryRaw(BinaryOp.DIV, binaryRaw(BinaryOp.MUL, g, out), b);
                        gb = Reduce.sumTo(unaryRaw(UnaryOp.NEG, t, 0), b.shape());
                    }
                }
                case MAX -> {
                    // Gradient to a where a >= b, else to b (ties go to a).
                    Tensor ma = maskGreaterEqual(a, b);
                    if (Autograd.wants(a)) ga = Reduce.sumTo(binaryRaw(BinaryOp.MUL, g, ma), a.shape());
                    if (Autograd.wants(b)) {
                        Tensor mb = scalarRaw(ScalarOp.RSUB, ma, 1f);
                        gb = Reduce.sumTo(binaryRaw(BinaryOp.MUL, g, mb), b.shape());
                    }
                }
            }
            return new Tensor[]{ga, gb};
        });
    }

    /** 1 where a >= b (broadcast), else 0: 1 - |sign(min(a - b, 0))|. */
    private static Tensor maskGreaterEqual(Tensor a, Tensor b) {
        Tensor neg = scalarRaw(ScalarOp.MIN, binaryRaw(BinaryOp.SUB, a, b), 0f);
        return scalarRaw(ScalarOp.RSUB, unaryRaw(UnaryOp.ABS, unaryRaw(UnaryOp.SIGN, neg, 0), 0), 1f);
    }

    static Tensor scalar(ScalarOp op, Tensor a, float s) {
        Tensor out = scalarRaw(op, a, s);
        return Autograd.record(op.name().toLowerCase() + "_scalar", out, new Tensor[]{a}, g -> {
            Tensor ga = switch (op) {
                case ADD -> g;
                case MUL -> scalarRaw(ScalarOp.MUL, g, s);
                case RSUB -> unaryRaw(UnaryOp.NEG, g, 0);
                // d(s/a)/da = -s/a^2 = -out/a
                case RDIV -> unaryRaw(UnaryOp.NEG, binaryRaw(BinaryOp.MUL, g, binaryRaw(BinaryOp.DIV, out, a)), 0);
                // d(a^s)/da = s a^(s-1)
                case POW -> binaryRaw(BinaryOp.MUL, g, scalarRaw(ScalarOp.MUL, scalarRaw(ScalarOp.POW, a, s - 1), s));
                // Gradient passes where the bound is not active (ties pass, as in PyTorch's clamp).
                case MAX, MIN -> binaryRaw(BinaryOp.MUL, g, passMask(a, out));
            };
            return new Tensor[]{ga};
        });
    }

    /** 1 where out == a (the clamp did not bind), else 0. */
    private static Tensor passMask(Tensor a, Tensor out) {
        Tensor d = unaryRaw(UnaryOp.ABS, unaryRaw(UnaryOp.SIGN, binaryRaw(BinaryOp.SUB, out, a), 0), 0);
        return scalarRaw(ScalarOp.RSUB, d, 1f);
    }

    static Tensor unary(UnaryOp op, Tensor a, float param) {
        Tensor out = unaryRaw(op, a, param);
        return Autograd.record(op.name().toLowerCase(), out, new Tensor[]{a}, g -> {
            Tensor ga = Tensor.empty(a.device(), a.shape());
            a.backend().unaryBackward(op, a, out, g, param, ga);
            return new Tensor[]{ga};
        });
    }

    // Kernel calls without autograd, for use inside backward functions.

    static Tensor binaryRaw(BinaryOp op, Tensor a, Tensor b) {
        Tensor out = Tensor.empty(a.device(), Shapes.broadcast(a.shape(), b.shape()));
        a.backend().binary(op, a, b, out);
        return out;
    }

    static Tensor scalarRaw(ScalarOp op, Tensor a, float s) {
        Tensor out = Tensor.empty(a.device(), a.shape());
        a.backend().scalar(op, a, s, out);
        return out;
    }

    static Tensor unaryRaw(UnaryOp op, Tensor a, float param) {
        Tensor out = Tensor.empty(a.device(), a.shape());
        a.backend().unary(op, a, param, out);
        return out;
    }

    static void checkSameDevice(Tensor a, Tensor b) {
        if (a.device() != b.device())
            throw new IllegalArgumentException("tensors on different devices: " + a.device() + " and " + b.device());
    }
}
