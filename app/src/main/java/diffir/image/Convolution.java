package diffir.image;

import diffir.engine.cpu.Parallel;

import java.util.Arrays;

/** 2-D convolution of every channel with one kernel, reflect borders (PyTorch "reflect" padding). */
public final class Convolution {
    private Convolution() {}

    /**
     * out(y, x) = sum over (i, j) of k(i, j) * in(y + r - i, x + r - j): a true convolution (kernel
     * flipped), so a kernel drawn as a blur trajectory moves content along that trajectory. The output
     * has the input's size; samples beyond the border are mirrored without repeating the edge.
     */
    public static Image reflect(Image img, Kernel k) {
        int r = k.radius(), n = k.size();
        int h = img.height(), w = img.width(), pw = w + 2 * r;
        // Flip once so the inner loops are a plain correlation over the padded plane.
        float[] flipped = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) flipped[i * n + j] = k.at(n - 1 - i, n - 1 - j);
        float[][] padded = new float[img.channels()][];
        Parallel.each(img.channels(), c -> padded[c] = pad(img, c, r));
        float[] out = new float[img.data().length];
        Parallel.range(img.channels() * h, 8, (from, to) -> {
            float[] acc = new float[w];
            for (int row = from; row < to; row++) {
                int c = row / h, y = row % h;
                float[] p = padded[c];
                Arrays.fill(acc, 0f);
                for (int i = 0; i < n; i++) {
                    int base = (y + i) * pw;
                    for (int j = 0; j < n; j++) {
                        float kv = flipped[i * n + j];
                        if (kv == 0f) continue; // motion-blur kernels are mostly zeros
                        int b = base + j;
                        for (int x = 0; x < w; x++) acc[x] += kv * p[b + x];
                    }
                }
                System.arraycopy(acc, 0, out, row * w, w);
            }
        });
        return new Image(img.channels(), h, w, out);
    }

    /** Channel c with r mirrored samples on every side. */
    static float[] pad(Image img, int c, int r) {
        int h = img.height(), w = img.width(), pw = w + 2 * r;
        float[] d = img.data();
        float[] p = new float[(h + 2 * r) * pw];
        int[] col = new int[pw];
        for (int x = 0; x < pw; x++) col[x] = Borders.reflect(x - r, w);
        for (int y = 0; y < h + 2 * r; y++) {
            int src = (c * h + Borders.reflect(y - r, h)) * w, dst = y * pw;
            for (int x = 0; x < pw; x++) p[dst + x] = d[src + col[x]];
        }
        return p;
    }
}
