package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.ConvSpec;

import java.util.Arrays;

import static diffir.engine.cpu.CpuBackend.data;

/**
 * conv2d forward and backward as GEMMs, one per (image, group), all in one {@link Sgemm} call:
 * out[n,g] (Og x OH*OW) = w[g] (Og x Cg*KH*KW) x im2col(x[n,g]). A 1x1 stride-1 convolution reads
 * x directly as the GEMM's right operand; other kernels read it through {@link Im2colOperand}, which
 * packs the im2col on the fly. Depthwise convolutions go to {@link CpuDepthwise}.
 *
 * <p>Backward input is the transposed convolution, again a forward-style GEMM: gy, with zeros
 * inserted between pixels for stride > 1 and padded by K-1-p, correlated with the flipped, transposed
 * kernel. Backward weight is gw[g]^T = im2col(x[:,g]) x gy[:,g]^T with K running over every image, so
 * the sum over the batch happens inside one GEMM.
 */
final class CpuConv {
    private CpuConv() {}

    static void forward(Tensor x, Tensor w, Tensor bias, ConvSpec s, Tensor out) {
        check(s, x, "x", s.n(), s.c(), s.h(), s.w());
        check(s, w, "weight", s.o(), s.cPerGroup(), s.kh(), s.kw());
        check(s, out, "out", s.n(), s.o(), s.outH(), s.outW());
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != s.o()))
            throw new IllegalArgumentException("conv2d " + s + ": bias " + Shapes.str(bias.shape()) + ", expected [" + s.o() + "]");
        float[] y = data(out);
        int yo = (int) out.offset();
        if (s.depthwise()) {
            CpuDepthwise.forward(data(x), (int) x.offset(), data(w), (int) w.offset(),
                    bias == null ? null : data(bias), bias == null ? 0 : (int) bias.offset(), s, y, yo);
            return;
        }
        int groups = s.groups(), og = s.oPerGroup(), cg = s.cPerGroup(), taps = s.kh() * s.kw();
        int outPix = s.outH() * s.outW(), inPix = s.h() * s.w();
        float beta = 0f;
        if (bias != null) {
            // The GEMM adds onto the bias planes (beta = 1).
            float[] b = data(bias);
            int bo = (int) bias.offset();
            Parallel.range(s.n() * s.o(), 1, (f, t) -> {
                for (int p = f; p < t; p++) Arrays.fill(y, yo + p * outPix, yo + (p + 1) * outPix, b[bo + p % s.o()]);
            });
            beta = 1f;
        }
        // Weight as (k = (c, r, s), i = o), shared by the images.
        LeftOperand a = new DenseOperand(data(w), new BatchOffsets(w.offset(), groups, (long) og * cg * taps, 0), 1, cg * taps);
        BatchOffsets images = new BatchOffsets(x.offset(), groups, (long) cg * inPix, (long) s.c() * inPix);
        RightOperand b = pointwise(s)
                ? new DenseOperand(data(x), images, inPix, 1)
                : new Im2colOperand(data(x), images, new ConvGeometry(cg, s.h(), s.w(), s.kh(), s.kw(),
                s.strideH(), s.strideW(), s.padH(), s.padW(), 1, 1, s.outH(), s.outW()));
        Sgemm.gemm(s.n() * groups, og, outPix, cg * taps, a, b, 1f, beta,
                y, new BatchOffsets(yo, groups, (long) og * outPix, (long) s.o() * outPix), outPix);
    }

    static void backwardInput(Tensor gy, Tensor w, ConvSpec s, Tensor gx) {
        check(s, gy, "gy", s.n(), s.o(), s.outH(), s.outW());
        check(s, w, "weight", s.o(), s.cPerGroup(), s.kh(), s.kw());
        check(s, gx, "gx", s.n(), s.c(), s.h(), s.w());
        if (s.depthwise()) {
            CpuDepthwise.backwardInput(data(gy), (int) gy.offset(), data(w), (int) w.offset(), s, data(gx), (int) gx.offset());
            return;
        }
        int groups = s.groups(), og = s.oPerGroup(), cg = s.cPerGroup(), taps = s.kh() * s.kw();
        int outPix = s.outH() * s.outW(), inPix = s.h() * s.w();
        BatchOffsets grads = new BatchOffsets(gy.offset(), groups, (long) og * outPix, (long) s.o() * outPix);
        BatchOffsets result = new BatchOffsets(gx.offset(), groups, (long) cg * inPix, (long) s.c() * inPix);
        if (pointwise(s)) {
            // gx[n,g] = w[g]^T gy[n,g]: the weight read as (k = o, i = c).
            LeftOperand a = new DenseOperand(data(w), new BatchOffsets(w.offset(), groups, (long) og * cg, 0), cg, 1);
            RightOperand b = new DenseOperand(data(gy), grads, outPix, 1);
            Sgemm.gemm(s.n() * groups, cg, inPix, og, a, b, 1f, 0f, data(gx), result, inPix);
            return;
        }
        LeftOperand a = new DenseOperand(flippedTransposed(w, s), new BatchOffsets(0, groups, (long) cg * og * taps, 0), 1, og * taps);
        RightOperand b = new Im2colOperand(data(gy), grads, new ConvGeometry(og, s.outH(), s.outW(), s.kh(), s.kw(),
                1, 1, s.kh() - 1 - s.padH(), s.kw() - 1 - s.padW(), s.strideH(), s.strideW(), s.h(), s.w()));
        Sgemm.gemm(s.n() * groups, cg, inPix, og * taps, a, b, 1f, 0f, data(gx), result, inPix);
    }

    static void backwardWeight(Tensor x, Tensor gy, ConvSpec s, Tensor gw) {
        check(s, x, "x", s.n(), s.c(), s.h(), s.w());
        check(s, gy, "gy", s.n(), s.o(), s.outH(), s.outW());
        check(s, gw, "gw", s.o(), s.cPerGroup(), s.kh(), s.kw());
        if (s.depthwise()) {
            CpuDepthwise.backwardWeight(data(x), (int) x.offset(), data(gy), (int) gy.offset(), s, data(gw), (int) gw.offset());
            return;
        }
        int groups = s.groups(), og = s.oPerGroup(), cg = s.cPerGroup(), taps = s.kh() * s.kw();
        int outPix = s.outH() * s.outW(), inPix = s.h() * s.w();
        // gy[:, g] with k = (n, pixel) and j = o, K running over every image.
        DenseOperand grads = new DenseOperand(data(gy), BatchOffsets.of(gy.offset(), (long) og * outPix), 1, outPix,
                outPix, s.o() * outPix);
        if (pointwise(s)) {
            // gw[g] = gy[:, g] x[:, g]^T.
            RightOperand b = new DenseOperand(data(x), BatchOffsets.of(x.offset(), (long) cg * inPix), 1, inPix,
                    inPix, s.c() * inPix);
            Sgemm.gemm(groups, og, cg, s.n() * outPix, grads, b, 1f, 0f,
                    data(gw), BatchOffsets.of(gw.offset(), (long) og * cg), cg);
            return;
        }
        // gw[g]^T = im2col(x[:, g]) gy[:, g]^T: the im2col side is then gathered row by row.
        int rows = cg * taps;
        float[] gwT = new float[groups * rows * og];
        LeftOperand a = new BatchIm2colOperand(data(x), BatchOffsets.of(x.offset(), (long) cg * inPix), s.c() * inPix,
                new ConvGeometry(cg, s.h(), s.w(), s.kh(), s.kw(), s.strideH(), s.strideW(), s.padH(), s.padW(),
                        1, 1, s.outH(), s.outW()));
        Sgemm.gemm(groups, rows, og, s.n() * outPix, a, grads, 1f, 0f, gwT, BatchOffsets.of(0, (long) rows * og), og);
        float[] out = data(gw);
        int wo = (int) gw.offset();
        for (int g = 0; g < groups; g++)
            for (int o = 0; o < og; o++)
                for (int q = 0; q < rows; q++) out[wo + (g * og + o) * rows + q] = gwT[(g * rows + q) * og + o];
    }

    /** A 1x1 stride-1 unpadded convolution: a plain GEMM on the NCHW planes. */
    private static boolean pointwise(ConvSpec s) {
        return s.kh() == 1 && s.kw() == 1 && s.strideH() == 1 && s.strideW() == 1 && s.padH() == 0 && s.padW() == 0;
    }

    /** wt[g][c][(o, r, s)] = w[g*Og + o][c][KH-1-r][KW-1-s]: the kernel of the transposed convolution. */
    private static float[] flippedTransposed(Tensor w, ConvSpec s) {
        float[] src = data(w);
        int wo = (int) w.offset(), og = s.oPerGroup(), cg = s.cPerGroup(), taps = s.kh() * s.kw();
        float[] out = new float[s.o() * cg * taps];
        for (int g = 0; g < s.groups(); g++)
            for (int c = 0; c < cg; c++)
                for (int o = 0; o < og; o++)
                    for (int t = 0; t < taps; t++)
                        out[((g * cg + c) * og + o) * taps + t] = src[wo + ((g * og + o) * cg + c) * taps + taps - 1 - t];
        return out;
    }

    private static void check(ConvSpec s, Tensor t, String what, int... expected) {
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException("conv2d " + s + ": " + what + " is " + Shapes.str(t.shape())
                    + ", expected " + Shapes.str(expected));
    }
}
