/* A stand-in for libcudnn.so.9 on machines without a GPU: the legacy convolution API the backend calls,
 * computed naively on host memory (the emulated device's memory) with cuDNN's checks. Like the real
 * shim it loads a sub-library by bare name (so the backend's preloading is exercised), and its
 * heuristics list a tensor-op algorithm first, which computes in TF32 (10-bit mantissa): picking it
 * without TF32 allowed shows up as a precision failure. */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, NOT_INITIALIZED = 1, BAD_PARAM = 3, NOT_SUPPORTED = 9, SUBLIBRARY = 4001 };
enum { DEFAULT_MATH = 0, TENSOR_OP = 1, FMA = 3 };

typedef struct { void* stream; } Handle;
typedef struct { int n, c, h, w, set; } Tensor4;
typedef struct { int k, c, h, w, set; } Filter4;
typedef struct { int ph, pw, u, v, dh, dw, mode, groups, math, set; } Conv;
typedef struct { int algo, status; float time; size_t memory; int determinism, mathType, reserved[3]; } Perf;

#define WORKSPACE 4096

size_t cudnnGetVersion(void) { return 90100; }
const char* cudnnGetErrorString(int s) {
    switch (s) {
        case OK: return "CUDNN_STATUS_SUCCESS";
        case BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        case SUBLIBRARY: return "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED";
        default: return "CUDNN_STATUS_INTERNAL_ERROR";
    }
}

int cudnnCreate(void** h) {
    if (dlopen("libcudnn_ops.so.9", RTLD_NOW | RTLD_LOCAL) == NULL) return SUBLIBRARY;
    *h = calloc(1, sizeof(Handle));
    return OK;
}
int cudnnSetStream(void* h, void* s) { ((Handle*)h)->stream = s; return OK; }
int cudnnCreateTensorDescriptor(void** d) { *d = calloc(1, sizeof(Tensor4)); return OK; }
int cudnnCreateFilterDescriptor(void** d) { *d = calloc(1, sizeof(Filter4)); return OK; }
int cudnnCreateConvolutionDescriptor(void** d) { *d = calloc(1, sizeof(Conv)); ((Conv*)*d)->groups = 1; return OK; }

int cudnnSetTensor4dDescriptor(Tensor4* t, int format, int type, int n, int c, int h, int w) {
    if (format != 0 || type != 0 || n <= 0 || c <= 0 || h <= 0 || w <= 0) return BAD_PARAM;
    *t = (Tensor4){n, c, h, w, 1};
    return OK;
}
int cudnnSetFilter4dDescriptor(Filter4* f, int type, int format, int k, int c, int h, int w) {
    if (format != 0 || type != 0 || k <= 0 || c <= 0 || h <= 0 || w <= 0) return BAD_PARAM;
    *f = (Filter4){k, c, h, w, 1};
    return OK;
}
int cudnnSetConvolution2dDescriptor(Conv* c, int ph, int pw, int u, int v, int dh, int dw, int mode, int type) {
    if (ph < 0 || pw < 0 || u <= 0 || v <= 0 || dh != 1 || dw != 1 || mode != 1 || type != 0) return BAD_PARAM;
    c->ph = ph; c->pw = pw; c->u = u; c->v = v; c->dh = dh; c->dw = dw; c->mode = mode; c->set = 1;
    return OK;
}
int cudnnSetConvolutionGroupCount(Conv* c, int g) { if (g < 1) return BAD_PARAM; c->groups = g; return OK; }
int cudnnSetConvolutionMathType(Conv* c, int m) { if (m < 0 || m > 3) return BAD_PARAM; c->math = m; return OK; }

/* Descriptors agree with one another: x (N,C,H,W), w (K, C/groups, R, S), y (N, K, P, Q). */
static int geometry(const Tensor4* x, const Filter4* w, const Conv* c, const Tensor4* y) {
    if (!x->set || !w->set || !c->set || !y->set) return BAD_PARAM;
    if (w->c * c->groups != x->c || w->k % c->groups != 0 || y->c != w->k || y->n != x->n) return BAD_PARAM;
    int p = (x->h + 2 * c->ph - w->h) / c->u + 1, q = (x->w + 2 * c->pw - w->w) / c->v + 1;
    if (y->h != p || y->w != q) return BAD_PARAM;
    return OK;
}

static int algos(int requested, int* returned, Perf* perf) {
    if (requested < 1) return BAD_PARAM;
    memset(perf, 0, sizeof(Perf) * (requested < 2 ? 1 : 2));
    perf[0] = (Perf){1, OK, 0.1f, WORKSPACE, 1, TENSOR_OP, {0, 0, 0}};
    if (requested >= 2) perf[1] = (Perf){0, OK, 0.2f, WORKSPACE, 1, FMA, {0, 0, 0}};
    *returned = requested < 2 ? 1 : 2;
    return OK;
}

int cudnnGetConvolutionForwardAlgorithm_v7(void* h, Tensor4* x, Filter4* w, Conv* c, Tensor4* y, int req, int* ret, Perf* p) {
    (void)h; int g = geometry(x, w, c, y); return g != OK ? g : algos(req, ret, p);
}
int cudnnGetConvolutionBackwardDataAlgorithm_v7(void* h, Filter4* w, Tensor4* dy, Conv* c, Tensor4* dx, int req, int* ret, Perf* p) {
    (void)h; int g = geometry(dx, w, c, dy); return g != OK ? g : algos(req, ret, p);
}
int cudnnGetConvolutionBackwardFilterAlgorithm_v7(void* h, Tensor4* x, Tensor4* dy, Conv* c, Filter4* dw, int req, int* ret, Perf* p) {
    (void)h; int g = geometry(x, dw, c, dy); return g != OK ? g : algos(req, ret, p);
}
int cudnnGetConvolutionForwardWorkspaceSize(void* h, Tensor4* x, Filter4* w, Conv* c, Tensor4* y, int algo, size_t* s) {
    (void)h; (void)algo; *s = WORKSPACE; return geometry(x, w, c, y);
}
int cudnnGetConvolutionBackwardDataWorkspaceSize(void* h, Filter4* w, Tensor4* dy, Conv* c, Tensor4* dx, int algo, size_t* s) {
    (void)h; (void)algo; *s = WORKSPACE; return geometry(dx, w, c, dy);
}
int cudnnGetConvolutionBackwardFilterWorkspaceSize(void* h, Tensor4* x, Tensor4* dy, Conv* c, Filter4* dw, int algo, size_t* s) {
    (void)h; (void)algo; *s = WORKSPACE; return geometry(x, dw, c, dy);
}

/* Algorithm 1 is the "tensor-op" one: operands rounded to TF32. */
static float operand(float v, int algo) {
    if (algo != 1) return v;
    uint32_t b; memcpy(&b, &v, 4); b &= 0xFFFFE000u; memcpy(&v, &b, 4); return v;
}

static int common(void* h, const Conv* c, int algo, void* ws, size_t wsBytes) {
    if (h == NULL || ((Handle*)h)->stream == NULL) return NOT_INITIALIZED;
    if (algo != 0 && algo != 1) return BAD_PARAM;
    if (algo == 1 && c->math == FMA) return NOT_SUPPORTED;
    if (ws == NULL || wsBytes < WORKSPACE) return BAD_PARAM;
    memset(ws, 0x5A, WORKSPACE); /* the workspace must be real, writable memory */
    return OK;
}

#define X_AT(n, ch, yy, xx) x[(((long)(n) * X->c + (ch)) * X->h + (yy)) * X->w + (xx)]
#define W_AT(k, ch, r, s) w[(((long)(k) * W->c + (ch)) * W->h + (r)) * W->w + (s)]
#define Y_AT(n, k, p, q) y[(((long)(n) * Y->c + (k)) * Y->h + (p)) * Y->w + (q)]

int cudnnConvolutionForward(void* h, const float* alpha, Tensor4* X, const float* x, Filter4* W, const float* w, Conv* c,
                            int algo, void* ws, size_t wsBytes, const float* beta, Tensor4* Y, float* y) {
    int rc = geometry(X, W, c, Y); if (rc != OK) return rc;
    rc = common(h, c, algo, ws, wsBytes); if (rc != OK) return rc;
    int kg = W->k / c->groups;
    for (int n = 0; n < Y->n; ++n) for (int k = 0; k < Y->c; ++k) for (int p = 0; p < Y->h; ++p) for (int q = 0; q < Y->w; ++q) {
        int g = k / kg;
        double s = 0;
        for (int ci = 0; ci < W->c; ++ci) for (int r = 0; r < W->h; ++r) for (int t = 0; t < W->w; ++t) {
            int iy = p * c->u - c->ph + r, ix = q * c->v - c->pw + t;
            if (iy < 0 || iy >= X->h || ix < 0 || ix >= X->w) continue;
            s += (double)operand(X_AT(n, g * W->c + ci, iy, ix), algo) * operand(W_AT(k, ci, r, t), algo);
        }
        float* o = &Y_AT(n, k, p, q);
        *o = *beta == 0.0f ? (float)(*alpha * s) : (float)(*alpha * s + *beta * (double)*o);
    }
    return OK;
}

int cudnnConvolutionBackwardData(void* h, const float* alpha, Filter4* W, const float* w, Tensor4* Y, const float* y,
                                 Conv* c, int algo, void* ws, size_t wsBytes, const float* beta, Tensor4* X, float* x) {
    int rc = geometry(X, W, c, Y); if (rc != OK) return rc;
    rc = common(h, c, algo, ws, wsBytes); if (rc != OK) return rc;
    long total = (long)X->n * X->c * X->h * X->w;
    double* acc = calloc((size_t)total, sizeof(double));
    int kg = W->k / c->groups;
    for (int n = 0; n < Y->n; ++n) for (int k = 0; k < Y->c; ++k) for (int p = 0; p < Y->h; ++p) for (int q = 0; q < Y->w; ++q) {
        int g = k / kg;
        double gy = operand(Y_AT(n, k, p, q), algo);
        for (int ci = 0; ci < W->c; ++ci) for (int r = 0; r < W->h; ++r) for (int t = 0; t < W->w; ++t) {
            int iy = p * c->u - c->ph + r, ix = q * c->v - c->pw + t;
            if (iy < 0 || iy >= X->h || ix < 0 || ix >= X->w) continue;
            acc[(((long)n * X->c + g * W->c + ci) * X->h + iy) * X->w + ix] += gy * operand(W_AT(k, ci, r, t), algo);
        }
    }
    for (long i = 0; i < total; ++i) x[i] = *beta == 0.0f ? (float)(*alpha * acc[i]) : (float)(*alpha * acc[i] + *beta * (double)x[i]);
    free(acc);
    return OK;
}

int cudnnConvolutionBackwardFilter(void* h, const float* alpha, Tensor4* X, const float* x, Tensor4* Y, const float* y,
                                   Conv* c, int algo, void* ws, size_t wsBytes, const float* beta, Filter4* W, float* w) {
    int rc = geometry(X, W, c, Y); if (rc != OK) return rc;
    rc = common(h, c, algo, ws, wsBytes); if (rc != OK) return rc;
    int kg = W->k / c->groups;
    for (int k = 0; k < W->k; ++k) for (int ci = 0; ci < W->c; ++ci) for (int r = 0; r < W->h; ++r) for (int t = 0; t < W->w; ++t) {
        int g = k / kg;
        double s = 0;
        for (int n = 0; n < Y->n; ++n) for (int p = 0; p < Y->h; ++p) for (int q = 0; q < Y->w; ++q) {
            int iy = p * c->u - c->ph + r, ix = q * c->v - c->pw + t;
            if (iy < 0 || iy >= X->h || ix < 0 || ix >= X->w) continue;
            s += (double)operand(Y_AT(n, k, p, q), algo) * operand(X_AT(n, g * W->c + ci, iy, ix), algo);
        }
        float* o = &W_AT(k, ci, r, t);
        *o = *beta == 0.0f ? (float)(*alpha * s) : (float)(*alpha * s + *beta * (double)*o);
    }
    return OK;
}

/* The benchmarking search: like cuDNN it runs the convolution (here algorithm 0, into the output
 * buffer) and lists algorithms fastest first: the tensor-op one, an FFT one (status OK, but the
 * backend leaves FFT algorithms out, and running it here fails with BAD_PARAM), then the FMA one. */
static int found(int requested, int* returned, Perf* perf, int fftAlgo, void* ws, size_t wsBytes) {
    if (requested < 1) return BAD_PARAM;
    if (wsBytes > 0 && ws == NULL) return BAD_PARAM;
    Perf all[3] = {{1, OK, 0.05f, WORKSPACE, 1, TENSOR_OP, {0, 0, 0}}, {fftAlgo, OK, 0.08f, WORKSPACE, 1, FMA, {0, 0, 0}},
                   {0, OK, 0.2f, WORKSPACE, 1, FMA, {0, 0, 0}}};
    int n = requested < 3 ? requested : 3;
    memcpy(perf, all, sizeof(Perf) * (size_t)n);
    *returned = n;
    return OK;
}

int cudnnFindConvolutionForwardAlgorithmEx(void* h, Tensor4* X, const float* x, Filter4* W, const float* w, Conv* c,
                                           Tensor4* Y, float* y, int req, int* ret, Perf* p, void* ws, size_t wsBytes) {
    static const float one = 1.0f, zero = 0.0f;
    static char scratch[WORKSPACE];
    int rc = cudnnConvolutionForward(h, &one, X, x, W, w, c, 0, scratch, WORKSPACE, &zero, Y, y);
    return rc != OK ? rc : found(req, ret, p, 4, ws, wsBytes);
}
int cudnnFindConvolutionBackwardDataAlgorithmEx(void* h, Filter4* W, const float* w, Tensor4* Y, const float* y, Conv* c,
                                                Tensor4* X, float* x, int req, int* ret, Perf* p, void* ws, size_t wsBytes) {
    static const float one = 1.0f, zero = 0.0f;
    static char scratch[WORKSPACE];
    int rc = cudnnConvolutionBackwardData(h, &one, W, w, Y, y, c, 0, scratch, WORKSPACE, &zero, X, x);
    return rc != OK ? rc : found(req, ret, p, 2, ws, wsBytes);
}
int cudnnFindConvolutionBackwardFilterAlgorithmEx(void* h, Tensor4* X, const float* x, Tensor4* Y, const float* y, Conv* c,
                                                  Filter4* W, float* w, int req, int* ret, Perf* p, void* ws, size_t wsBytes) {
    static const float one = 1.0f, zero = 0.0f;
    static char scratch[WORKSPACE];
    int rc = cudnnConvolutionBackwardFilter(h, &one, X, x, Y, y, c, 0, scratch, WORKSPACE, &zero, W, w);
    return rc != OK ? rc : found(req, ret, p, 2, ws, wsBytes);
}
