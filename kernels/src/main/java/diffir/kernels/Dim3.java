package diffir.kernels;

/** A CUDA grid or block size. */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) throw new IllegalArgumentException("bad launch dimension " + x + "x" + y + "x" + z);
    }

    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }

    public static Dim3 of(int x, int y, int z) {
        return new Dim3(x, y, z);
    }

    /** ceil(n / d), for grid sizes. */
    public static int blocks(long n, int d) {
        return (int) Math.max(1, (n + d - 1) / d);
    }
}
