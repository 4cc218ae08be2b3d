package diffir.image;

/** A square 2-D filter of odd size, row-major weights (row = vertical offset). */
public record Kernel(int size, float[] weights) {

    public Kernel {
        if (size <= 0 || size % 2 == 0) throw new IllegalArgumentException("kernel size must be odd and positive, got " + size);
        if (weights == null || weights.length != size * size)
            throw new IllegalArgumentException("a " + size + "x" + size + " kernel needs " + size * size + " weights, got "
                    + (weights == null ? "null" : weights.length));
    }

    public int radius() {
        return size / 2;
    }

    public float at(int row, int col) {
        return weights[row * size + col];
    }

    public double sum() {
        double s = 0;
        for (float w : weights) s += w;
        return s;
    }

    /** A kernel from double weights divided by their sum (which must be positive). */
    public static Kernel normalized(int size, double[] weights) {
        double s = 0;
        for (double w : weights) s += w;
        if (!(s > 0)) throw new IllegalArgumentException("kernel weights sum to " + s + "; cannot normalise");
        float[] out = new float[weights.length];
        for (int i = 0; i < out.length; i++) out[i] = (float) (weights[i] / s);
        return new Kernel(size, out);
    }
}
