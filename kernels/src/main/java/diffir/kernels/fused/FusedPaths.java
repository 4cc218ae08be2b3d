package diffir.kernels.fused;

/**
 * Which fused kernels serve a call: one switch, the system property {@value #PROPERTY} (default
 * false), read once when this class loads.
 *
 * <p>On, the pipelined channel-attention kernels ({@code fused_attn_gram_pipe}, {@code _apply_softmax},
 * {@code _gram_gv}, {@code _pair}) serve heads of 16, 32 or 48 channels on float4 rows, and the GDFN
 * backward walks rows of tiles ({@code fused_gdfn_bwd_strip_k3}) for 3x3 taps on float4 rows. Off,
 * every call takes the kernels that the H100 checks measured and sanitised. The new kernels are
 * off until a GPU run has checked them (kernels/FUSED_KERNELS.md, "The pipelined kernels are opt-in").
 */
public final class FusedPaths {
    private FusedPaths() {}

    /** The system property that switches the pipelined kernels on ({@code -Ddiffir.cuda.pipelined=true}). */
    public static final String PROPERTY = "diffir.cuda.pipelined";

    private static final boolean CONFIGURED = Boolean.getBoolean(PROPERTY);
    /** A test's setting, in force while non-null (tests run both ways whatever the property says). */
    private static volatile Boolean override;

    /** True when the pipelined kernels serve the calls they apply to. */
    public static boolean pipelined() {
        Boolean o = override;
        return o != null ? o : CONFIGURED;
    }

    /**
     * Sets the tests' override (null: the property again) and returns the previous one, for the
     * caller to restore in a finally block.
     */
    static Boolean override(Boolean pipelined) {
        Boolean previous = override;
        override = pipelined;
        return previous;
    }
}
