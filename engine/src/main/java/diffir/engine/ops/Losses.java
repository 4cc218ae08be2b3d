package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

/** Losses, composed from the differentiable ops (so their gradients come for free). */
final class Losses {
    private Losses() {}

    static Tensor l1(Tensor pred, Tensor target) {
        checkSame("l1Loss", pred, target);
        return Ops.mean(Ops.abs(Ops.sub(pred, target)));
    }

    static Tensor mse(Tensor pred, Tensor target) {
        checkSame("mseLoss", pred, target);
        return Ops.mean(Ops.square(Ops.sub(pred, target)));
    }

    static Tensor klDiv(Tensor logInput, Tensor target, String reduction) {
        checkSame("klDiv", logInput, target);
        // target * log(target) with 0 log 0 = 0: log of max(target, tiny) times target is exactly 0 at 0.
        Tensor tlogt = Ops.mul(target, Ops.log(Ops.clampMin(target, Float.MIN_NORMAL)));
        Tensor pointwise = Ops.sub(tlogt, Ops.mul(target, logInput));
        return switch (reduction) {
            case "mean" -> Ops.mean(pointwise);
            case "sum" -> Ops.sum(pointwise);
            case "batchmean" -> Ops.mulScalar(Ops.sum(pointwise), 1f / logInput.dim(0));
            default -> throw new IllegalArgumentException("klDiv reduction must be mean, sum or batchmean, got " + reduction);
        };
    }

    private static void checkSame(String op, Tensor a, Tensor b) {
        if (!Shapes.same(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + ": shapes " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " differ");
    }
}
