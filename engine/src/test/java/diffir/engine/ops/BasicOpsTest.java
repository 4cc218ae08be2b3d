package diffir.engine.ops;

import diffir.engine.Tensor;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import diffir.engine.testing.GradCheck;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The basic ops against PyTorch (fixtures from gen_basic_ops.py, float64 reference math): forward
 * within 1e-5 and input gradients within 1e-4 relative error, on odd shapes with batch > 1, and
 * every case again by finite differences.
 */
class BasicOpsTest {
    private static final Map<String, Tensor> F = Fixtures.load("basic_ops");
    private static final double FORWARD_TOL = 1e-5, BACKWARD_TOL = 1e-4;

    /** An op under test: maps the fixture's inputs to its outputs (one or several). */
    @FunctionalInterface
    interface Op {
        List<Tensor> apply(Tensor[] in);
    }

    private static Arguments one(String name, Function<Tensor[], Tensor> f) {
        return Arguments.of(name, Named.of("op", (Op) in -> List.of(f.apply(in))));
    }

    private static Arguments many(String name, Op f) {
        return Arguments.of(name, Named.of("op", f));
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // broadcasting binary
                one("add", in -> Ops.add(in[0], in[1])),
                one("add_same", in -> Ops.add(in[0], in[1])),
                one("sub", in -> Ops.sub(in[0], in[1])),
                one("sub_same", in -> Ops.sub(in[0], in[1])),
                one("mul", in -> Ops.mul(in[0], in[1])),
                one("mul_same", in -> Ops.mul(in[0], in[1])),
                one("div", in -> Ops.div(in[0], in[1])),
                one("div_same", in -> Ops.div(in[0], in[1])),
                one("div_scalar_first", in -> Ops.div(in[0], in[1])),
                one("maximum", in -> Ops.maximum(in[0], in[1])),
                one("maximum_same", in -> Ops.maximum(in[0], in[1])),
                // tensor-scalar
                one("add_scalar", in -> Ops.addScalar(in[0], 1.7f)),
                one("mul_scalar", in -> Ops.mulScalar(in[0], -0.3f)),
                one("rsub_scalar", in -> Ops.rsubScalar(in[0], 2.5f)),
                one("rdiv_scalar", in -> Ops.rdivScalar(in[0], 1.5f)),
                one("pow2", in -> Ops.pow(in[0], 2f)),
                one("pow3", in -> Ops.pow(in[0], 3f)),
                one("pow_half", in -> Ops.pow(in[0], 0.5f)),
                one("pow_neg", in -> Ops.pow(in[0], -1.5f)),
                one("clamp_min", in -> Ops.clampMin(in[0], -0.2f)),
                one("clamp_max", in -> Ops.clampMax(in[0], 0.3f)),
                // unary
                one("neg", in -> Ops.neg(in[0])),
                one("exp", in -> Ops.exp(in[0])),
                one("log", in -> Ops.log(in[0])),
                one("sqrt", in -> Ops.sqrt(in[0])),
                one("abs", in -> Ops.abs(in[0])),
                one("square", in -> Ops.square(in[0])),
                one("tanh", in -> Ops.tanh(in[0])),
                one("sigmoid", in -> Ops.sigmoid(in[0])),
                one("relu", in -> Ops.relu(in[0])),
                one("leaky_relu", in -> Ops.leakyRelu(in[0], 0.1f)),
                one("gelu", in -> Ops.gelu(in[0])),
                one("gelu_tail", in -> Ops.gelu(in[0])),
                // reductions
                one("sum_all", in -> Ops.sum(in[0])),
                one("sum_02_keep", in -> Ops.sum(in[0], true, 0, 2)),
                one("sum_02", in -> Ops.sum(in[0], false, 0, 2)),
                one("sum_last", in -> Ops.sum(in[0], false, -1)),
                one("mean_all", in -> Ops.mean(in[0])),
                one("mean_1_keep", in -> Ops.mean(in[0], true, 1)),
                one("mean_12", in -> Ops.mean(in[0], false, 1, 2)),
                one("global_avg_pool", in -> Ops.globalAvgPool(in[0])),
                // matrix products
                one("matmul_2d", in -> Ops.matmul(in[0], in[1])),
                one("matmul_batched_shared_b", in -> Ops.matmul(in[0], in[1])),
                one("matmul_shared_a", in -> Ops.matmul(in[0], in[1])),
                one("matmul_4d", in -> Ops.matmul(in[0], in[1])),
                one("matmul_ta", in -> Ops.matmul(in[0], in[1], true, false)),
                one("matmul_tb", in -> Ops.matmul(in[0], in[1], false, true)),
                one("matmul_tab", in -> Ops.matmul(in[0], in[1], true, true)),
                one("matmul_tb_shared", in -> Ops.matmul(in[0], in[1], false, true)),
                one("matmul_ta_shared", in -> Ops.matmul(in[0], in[1], true, false)),
                one("matmul_shared_a_tb", in -> Ops.matmul(in[0], in[1], false, true)),
                one("matmul_shared_a_ta", in -> Ops.matmul(in[0], in[1], true, false)),
                one("linear", in -> Ops.linear(in[0], in[1], in[2])),
                // shapes
                one("reshape", in -> Ops.reshape(in[0], 5, 6)),
                one("permute", in -> Ops.permute(in[0], 0, 2, 3, 1)),
                one("transpose", in -> Ops.transpose(in[0], 1, 3)),
                one("narrow_inner", in -> Ops.narrow(in[0], 1, 1, 3)),
                one("narrow_leading", in -> Ops.narrow(in[0], 0, 1, 3)),
                one("concat", in -> Ops.concat(1, in[0], in[1], in[2])),
                many("split", in -> Ops.split(in[0], 2, 1, 2, 2)),
                many("chunk", in -> Ops.chunk(in[0], 3, 1)),
                one("expand", in -> Ops.expand(in[0], 2, 3, 4, 5)),
                one("pixel_shuffle", in -> Ops.pixelShuffle(in[0], 2)),
                one("pixel_unshuffle", in -> Ops.pixelUnshuffle(in[0], 2)),
                one("upsample_nearest2", in -> Ops.upsampleNearest(in[0], 2)),
                one("upsample_nearest4", in -> Ops.upsampleNearest(in[0], 4)),
                // losses
                one("l1_loss", in -> Ops.l1Loss(in[0], in[1])),
                one("mse_loss", in -> Ops.mseLoss(in[0], in[1])),
                one("kl_div_mean", in -> Ops.klDiv(in[0], in[1], "mean")),
                one("kl_div_sum", in -> Ops.klDiv(in[0], in[1], "sum")),
                one("kl_div_batchmean", in -> Ops.klDiv(in[0], in[1], "batchmean")),
                one("kl_div_positive", in -> Ops.klDiv(in[0], in[1], "batchmean")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(String name, Op op) {
        Tensor[] in = inputs(name);
        List<Tensor> outs = op.apply(in);
        Tensor loss = null;
        for (int k = 0; k < outs.size(); k++) {
            String suffix = outs.size() == 1 ? "" : String.valueOf(k);
            Assert.close(outs.get(k), Fixtures.get(F, name + ".out" + suffix), FORWARD_TOL, name + " forward " + suffix);
            // Back-propagate every output's upstream gradient at once: d/dx sum_k <out_k, gout_k>.
            Tensor term = Ops.sum(Ops.mul(outs.get(k), Fixtures.get(F, name + ".gout" + suffix)));
            loss = loss == null ? term : Ops.add(loss, term);
        }
        assertNotNull(loss);
        loss.backward();
        for (int i = 0; i < in.length; i++) {
            Tensor ref = F.get(name + ".grad" + i);
            if (ref == null) continue; // not differentiated in the reference either
            assertNotNull(in[i].grad(), name + ": input " + i + " got no gradient");
            Assert.close(in[i].grad(), ref, BACKWARD_TOL, name + " gradient of input " + i);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesFiniteDifferences(String name, Op op) {
        GradCheck.check(in -> {
            // Several outputs: weight each differently so a mix-up between them shows.
            List<Tensor> outs = op.apply(in);
            List<Tensor> flat = new ArrayList<>();
            for (int k = 0; k < outs.size(); k++) flat.add(Ops.reshape(Ops.mulScalar(outs.get(k), k + 1f), -1));
            return flat.size() == 1 ? outs.get(0) : Ops.concat(0, flat.toArray(Tensor[]::new));
        }, inputs(name));
    }

    /** Fresh copies of a case's inputs; those with a reference gradient require grad. */
    private static Tensor[] inputs(String name) {
        List<Tensor> in = new ArrayList<>();
        for (int i = 0; F.containsKey(name + ".in" + i); i++) {
            Tensor t = F.get(name + ".in" + i);
            in.add(Tensor.of(t.toFloatArray(), t.shape()).requiresGrad(F.containsKey(name + ".grad" + i)));
        }
        assertEquals(true, !in.isEmpty(), "fixture has no inputs for " + name);
        return in.toArray(Tensor[]::new);
    }
}
