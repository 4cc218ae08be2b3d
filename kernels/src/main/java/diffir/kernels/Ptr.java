package diffir.kernels;

/** A raw device address passed to a kernel as a pointer parameter (0 for a null pointer). */
public record Ptr(long address) {
    public static final Ptr NULL = new Ptr(0);

    /** This address advanced by {@code floats} float32 elements. */
    public Ptr plusFloats(long floats) {
        return new Ptr(address + 4 * floats);
    }
}
