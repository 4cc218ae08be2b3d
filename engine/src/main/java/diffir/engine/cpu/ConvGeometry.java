package diffir.engine.cpu;

/**
 * A correlation read by im2col: per channel plane (h x w), output pixel (y, x) and kernel tap (r, s)
 * read the input at q = (y*strideH - padH + r, x*strideW - padW + s) of a virtual input that is the
 * real one with {@code dil - 1} zeros inserted between its pixels (dil > 1 turns the backward pass
 * of a strided convolution into a stride-1 one); outside the input it reads zero. Padding may be
 * negative (a crop).
 */
record ConvGeometry(int channels, int h, int w, int kh, int kw, int strideH, int strideW,
                    int padH, int padW, int dilH, int dilW, int outH, int outW) {

    int taps() {
        return kh * kw;
    }

    int outPixels() {
        return outH * outW;
    }

    int plane() {
        return h * w;
    }

    /** Input row read by output row y and kernel row r, or -1 where that is padding. */
    int inputRow(int y, int r) {
        int q = y * strideH - padH + r;
        if (dilH == 1) return q >= 0 && q < h ? q : -1; // no division on the common path
        if (q < 0 || q % dilH != 0) return -1;
        q /= dilH;
        return q < h ? q : -1;
    }

    /**
     * Writes {@code scale *} the values tap (r, s) reads for output pixels (y, x0 .. x0+len) of the
     * channel plane at src[plane] to dst[d + t*dstStride], t < len.
     */
    void gather(float[] src, int plane, int y, int x0, int len, int r, int s, float scale,
                float[] dst, int d, int dstStride) {
        int iy = inputRow(y, r);
        if (iy < 0) {
            zero(dst, d, len, dstStride);
            return;
        }
        int row = plane + iy * w;
        if (strideW == 1 && dilW == 1) {
            // Contiguous: zeros left of the input, a straight copy, zeros right of it.
            int ix0 = x0 - padW + s;
            int lo = Math.clamp(-ix0, 0, len), hi = Math.clamp(w - ix0, lo, len);
            zero(dst, d, lo, dstStride);
            if (dstStride == 1 && scale == 1f) {
                FloatCopy.copy(src, row + ix0 + lo, dst, d + lo, hi - lo);
            } else {
                for (int t = lo; t < hi; t++) dst[d + t * dstStride] = src[row + ix0 + t] * scale;
            }
            zero(dst, d + hi * dstStride, len - hi, dstStride);
            return;
        }
        for (int t = 0; t < len; t++) {
            int q = (x0 + t) * strideW - padW + s;
            float v = 0f;
            if (q >= 0 && q % dilW == 0 && q / dilW < w) v = src[row + q / dilW] * scale;
            dst[d + t * dstStride] = v;
        }
    }

    private static void zero(float[] dst, int d, int len, int stride) {
        if (stride == 1) FloatCopy.zero(dst, d, len);
        else for (int t = 0; t < len; t++) dst[d + t * stride] = 0f;
    }
}
