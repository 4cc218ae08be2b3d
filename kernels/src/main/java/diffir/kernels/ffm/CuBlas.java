package diffir.kernels.ffm;

import diffir.kernels.Blas;
import diffir.kernels.CudaException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS through FFM downcalls (its C API is stable across major versions, unlike JCublas's link to
 * one soname). One handle bound to the backend's stream; scalars passed from host memory; TF32 off
 * unless asked for ({@code -Ddiffir.cuda.tf32=true} or {@link #setTf32}).
 */
public final class CuBlas implements Blas {
    private static final String[] SONAMES = {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"};
    private static final int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;

    private final NativeLibraries.Opened lib;
    private final Runnable makeCurrent;
    private final MemorySegment handle;
    private final MemorySegment scalars;
    private final MethodHandle sgemm, sgemmBatched, setMathMode;
    private final int version;
    private boolean tf32;

    private CuBlas(NativeLibraries.Opened lib, Arena arena, long stream, Runnable makeCurrent) {
        this.lib = lib;
        this.makeCurrent = makeCurrent;
        Linker linker = Linker.nativeLinker();
        MethodHandle create = find(linker, "cublasCreate_v2", "cublasCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = find(linker, "cublasSetStream_v2", "cublasSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        MethodHandle getVersion = find(linker, "cublasGetVersion_v2", "cublasGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        setMathMode = find(linker, "cublasSetMathMode", null, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        sgemm = find(linker, "cublasSgemm_v2", "cublasSgemm", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        sgemmBatched = find(linker, "cublasSgemmStridedBatched", null, FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_LONG,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT));
        makeCurrent.run();
        MemorySegment out = arena.allocate(ADDRESS);
        check("cublasCreate", invokeInt(create, out));
        handle = out.get(ADDRESS, 0);
        check("cublasSetStream", invokeInt(setStream, handle, MemorySegment.ofAddress(stream)));
        MemorySegment v = arena.allocate(JAVA_INT);
        check("cublasGetVersion", invokeInt(getVersion, handle, v));
        version = v.get(JAVA_INT, 0);
        scalars = arena.allocate(JAVA_FLOAT, 2);
        setTf32(Boolean.getBoolean("diffir.cuda.tf32"));
    }

    /** cuBLAS bound to {@code stream}, or empty with the reason in {@code why[0]} when the library is absent. */
    public static Optional<CuBlas> load(long stream, Runnable makeCurrent, String[] why) {
        if (System.getProperty("diffir.cuda.cublas", "true").equals("false")) {
            why[0] = "cuBLAS disabled by -Ddiffir.cuda.cublas=false";
            return Optional.empty();
        }
        return load(NativeLibraries.searchPath(), true, stream, makeCurrent, why);
    }

    /** As {@link #load(long, Runnable, String[])}, searching only {@code dirs} (and the system loader if asked). */
    public static Optional<CuBlas> load(java.util.List<java.nio.file.Path> dirs, boolean systemLoader, long stream,
                                        Runnable makeCurrent, String[] why) {
        Arena arena = Arena.global();
        Optional<NativeLibraries.Opened> lib = NativeLibraries.open(arena, dirs, systemLoader, SONAMES, "libcublasLt");
        if (lib.isEmpty()) {
            why[0] = "cuBLAS not found (" + String.join(", ", SONAMES) + ") in " + dirs;
            return Optional.empty();
        }
        return Optional.of(new CuBlas(lib.get(), arena, stream, makeCurrent));
    }

    @Override
    public String describe() {
        return "cuBLAS " + version / 10000 + "." + version / 100 % 100 + "." + version % 100 + " (" + lib.path() + ")"
                + (tf32 ? ", TF32 on" : "");
    }

    @Override
    public synchronized void setTf32(boolean enabled) {
        makeCurrent.run();
        check("cublasSetMathMode", invokeInt(setMathMode, handle, enabled ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
        tf32 = enabled;
    }

    @Override
    public boolean tf32() {
        return tf32;
    }

    @Override
    public synchronized void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   long a, int lda, long strideA, long b, int ldb, long strideB,
                                   float beta, long c, int ldc, long strideC, int batch) {
        makeCurrent.run();
        scalars.setAtIndex(JAVA_FLOAT, 0, alpha);
        scalars.setAtIndex(JAVA_FLOAT, 1, beta);
        MemorySegment pa = scalars, pb = scalars.asSlice(4);
        int ta = transA ? 1 : 0, tb = transB ? 1 : 0;
        int rc;
        if (batch == 1) {
            rc = invokeInt(sgemm, handle, ta, tb, m, n, k, pa, MemorySegment.ofAddress(a), lda,
                    MemorySegment.ofAddress(b), ldb, pb, MemorySegment.ofAddress(c), ldc);
        } else {
            rc = invokeInt(sgemmBatched, handle, ta, tb, m, n, k, pa, MemorySegment.ofAddress(a), lda, strideA,
                    MemorySegment.ofAddress(b), ldb, strideB, pb, MemorySegment.ofAddress(c), ldc, strideC, batch);
        }
        if (rc != 0)
            throw new CudaException("cublasSgemm" + (batch == 1 ? "" : "StridedBatched") + "(m=" + m + ", n=" + n + ", k=" + k
                    + ", batch=" + batch + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc + ") failed: " + statusName(rc));
    }

    private MethodHandle find(Linker linker, String name, String alternative, FunctionDescriptor fd) {
        var sym = lib.symbols().find(name);
        if (sym.isEmpty() && alternative != null) sym = lib.symbols().find(alternative);
        if (sym.isEmpty()) throw new CudaException("cuBLAS at " + lib.path() + " has no symbol " + name);
        return linker.downcallHandle(sym.get(), fd);
    }

    static int invokeInt(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("native call failed: " + t, t);
        }
    }

    private static void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call + " failed: " + statusName(rc));
    }

    static String statusName(int rc) {
        return switch (rc) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cuBLAS status " + rc;
        };
    }
}
