/* Stand-in for libcublasLt.so.13, which the real libcublas needs loaded first. */
int cublasLtGetVersion(void) { return 130001; }
