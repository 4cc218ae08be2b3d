package diffir.engine.io;

import java.nio.ByteBuffer;

/**
 * The element types our readers accept in array and checkpoint files, and their one conversion to
 * float32 (integers and bools become their float values). Shared by safetensors, .npy and .pth.
 */
enum Dtype {
    F16(2), BF16(2), F32(4), F64(8),
    I8(1), U8(1), I16(2), U16(2), I32(4), U32(4), I64(8), U64(8),
    BOOL(1);

    /** Bytes per element. */
    final int size;

    Dtype(int size) {
        this.size = size;
    }

    /**
     * Converts {@code dst.length} elements starting at the buffer's position (its byte order decides
     * endianness) into dst. The caller has checked that the buffer holds them.
     */
    void decode(ByteBuffer b, float[] dst) {
        int p = b.position(), n = dst.length;
        switch (this) {
            case F32 -> b.asFloatBuffer().get(dst);
            case F64 -> { for (int i = 0; i < n; i++) dst[i] = (float) b.getDouble(p + 8 * i); }
            case F16 -> { for (int i = 0; i < n; i++) dst[i] = Float.float16ToFloat(b.getShort(p + 2 * i)); }
            // bfloat16 is the top half of a float32.
            case BF16 -> { for (int i = 0; i < n; i++) dst[i] = Float.intBitsToFloat((b.getShort(p + 2 * i) & 0xffff) << 16); }
            case I8 -> { for (int i = 0; i < n; i++) dst[i] = b.get(p + i); }
            case U8 -> { for (int i = 0; i < n; i++) dst[i] = b.get(p + i) & 0xff; }
            case BOOL -> { for (int i = 0; i < n; i++) dst[i] = b.get(p + i) != 0 ? 1f : 0f; }
            case I16 -> { for (int i = 0; i < n; i++) dst[i] = b.getShort(p + 2 * i); }
            case U16 -> { for (int i = 0; i < n; i++) dst[i] = b.getShort(p + 2 * i) & 0xffff; }
            case I32 -> { for (int i = 0; i < n; i++) dst[i] = b.getInt(p + 4 * i); }
            case U32 -> { for (int i = 0; i < n; i++) dst[i] = b.getInt(p + 4 * i) & 0xffffffffL; }
            case I64 -> { for (int i = 0; i < n; i++) dst[i] = b.getLong(p + 8 * i); }
            case U64 -> { for (int i = 0; i < n; i++) dst[i] = unsignedToFloat(b.getLong(p + 8 * i)); }
        }
    }

    private static float unsignedToFloat(long v) {
        if (v >= 0) return v;
        // Halve (keeping the low bit so rounding stays right), convert, double.
        return 2f * (float) ((v >>> 1) | (v & 1));
    }
}
