package diffir.image;

/** Maps an index outside [0, n) back inside, for the two mirror conventions image code uses. */
public final class Borders {
    private Borders() {}

    /**
     * Mirror without repeating the edge sample (PyTorch/numpy "reflect", OpenCV BORDER_REFLECT_101):
     * index -1 maps to 1, n maps to n-2. Folds repeatedly, so any pad width works on any size.
     */
    public static int reflect(int i, int n) {
        if (i >= 0 && i < n) return i;
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        int j = Math.floorMod(i, period);
        return j < n ? j : period - j;
    }

    /** Mirror repeating the edge sample (numpy "symmetric", MATLAB imresize): -1 maps to 0, n to n-1. */
    public static int symmetric(int i, int n) {
        if (i >= 0 && i < n) return i;
        int period = 2 * n;
        int j = Math.floorMod(i, period);
        return j < n ? j : period - 1 - j;
    }
}
