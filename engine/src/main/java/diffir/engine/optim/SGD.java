package diffir.engine.optim;

import diffir.engine.Tensor;
import diffir.engine.backend.Backend;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;

import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.SGD}: {@code d = g + wd*p}; with momentum,
 * {@code buf = d} on the first update, else {@code buf = momentum*buf + (1-dampening)*d}, and
 * {@code d = nesterov ? d + momentum*buf : buf}; then {@code p -= lr*d}. Built from elementwise kernels.
 */
public final class SGD extends Optimizer {
    private final double momentum, dampening, weightDecay;
    private final boolean nesterov;

    public SGD(Map<String, Tensor> params, double lr) {
        this(params, lr, 0, 0, 0, false);
    }

    public SGD(Map<String, Tensor> params, double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(params, lr);
        if (!(momentum >= 0)) throw new IllegalArgumentException("invalid momentum: " + momentum);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("invalid weight decay: " + weightDecay);
        if (Double.isNaN(dampening)) throw new IllegalArgumentException("invalid dampening: " + dampening);
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 and zero dampening, got momentum "
                    + momentum + ", dampening " + dampening);
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
    }

    @Override
    protected void update(Tensor p, Tensor g, ParamState st) {
        Backend be = p.backend();
        // d is the one scratch tensor; the gradient is never written.
        Tensor d = Tensor.empty(p.device(), p.shape());
        if (weightDecay != 0) {
            be.scalar(ScalarOp.MUL, p, (float) weightDecay, d);
            be.binary(BinaryOp.ADD, g, d, d);
        } else {
            d.copyFrom(g);
        }
        Tensor direction = d;
        if (momentum != 0) {
            Tensor buf = st.get("momentum_buffer");
            if (buf == null) {
                buf = Tensor.empty(p.device(), p.shape());
                buf.copyFrom(d);
                st.put("momentum_buffer", buf);
            } else {
                be.scalar(ScalarOp.MUL, buf, (float) momentum, buf);
                if (dampening != 0) {
                    Tensor t = Tensor.empty(p.device(), p.shape());
                    be.scalar(ScalarOp.MUL, d, (float) (1 - dampening), t);
                    be.binary(BinaryOp.ADD, buf, t, buf);
                } else {
                    be.binary(BinaryOp.ADD, buf, d, buf);
                }
            }
            if (nesterov) {
                Tensor t = Tensor.empty(p.device(), p.shape());
                be.scalar(ScalarOp.MUL, buf, (float) momentum, t);
                be.binary(BinaryOp.ADD, d, t, d);
            } else {
                direction = buf;
            }
        }
        be.scalar(ScalarOp.MUL, direction, (float) -lr(), d);
        be.binary(BinaryOp.ADD, p, d, p);
    }

    @Override
    protected List<String> stateNames() {
        return momentum != 0 ? List.of("momentum_buffer") : List.of();
    }
}
