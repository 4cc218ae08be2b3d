/* A stand-in for libcuda.so.1 on machines without a GPU, for testing CudaDriver's use of the driver API
 * through JCuda: device memory is host memory (every copy is range-checked against live allocations),
 * each thread must have made the context current, the stream must be the one created, module images
 * must be fatbins, and launches are recorded (not run) for the test to inspect. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_IMAGE = 200, INVALID_CONTEXT = 201,
    INVALID_HANDLE = 400, NOT_FOUND = 500
};

#define CONTEXT ((void*)0xC0)
#define STREAM ((void*)0x5157)
#define MAX_ALLOCS 4096
#define BUDGET (256ull << 20)

static __thread void* current;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uintptr_t base; size_t bytes; } allocs[MAX_ALLOCS];
static size_t used;
static char last_kernel[128];
static unsigned last_dims[7];
static int launches;

static int ctx(void) { return current == CONTEXT ? OK : INVALID_CONTEXT; }

/* OK when [p, p + bytes) lies inside one live allocation. */
static int inside(uintptr_t p, size_t bytes) {
    pthread_mutex_lock(&lock);
    int found = 0;
    for (int i = 0; i < MAX_ALLOCS && !found; i++)
        if (allocs[i].base && p >= allocs[i].base && p + bytes <= allocs[i].base + allocs[i].bytes) found = 1;
    pthread_mutex_unlock(&lock);
    return found;
}

int cuInit(unsigned flags) { return flags == 0 ? OK : INVALID_VALUE; }
int cuDriverGetVersion(int* v) { *v = 13000; return OK; }
int cuDeviceGetCount(int* n) { *n = 1; return OK; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_VALUE; *d = 0; return OK; }
int cuDeviceGetName(char* name, int len, int d) { (void)d; snprintf(name, (size_t)len, "Fake GPU"); return OK; }
int cuDeviceTotalMem_v2(size_t* bytes, int d) { (void)d; *bytes = BUDGET; return OK; }
int cuDeviceGetAttribute(int* v, int attr, int d) {
    (void)d;
    switch (attr) {
        case 16: *v = 4; return OK;         /* multiprocessors */
        case 75: *v = 9; return OK;         /* compute capability */
        case 76: *v = 0; return OK;
        case 38: *v = 50 << 20; return OK;  /* L2 */
        default: return INVALID_VALUE;
    }
}
int cuDevicePrimaryCtxRetain(void** c, int d) { (void)d; *c = CONTEXT; return OK; }
int cuCtxSetCurrent(void* c) { current = c; return OK; }
int cuStreamCreate(void** s, unsigned flags) { if (ctx()) return ctx(); if (flags != 1) return INVALID_VALUE; *s = STREAM; return OK; }
int cuStreamSynchronize(void* s) { if (ctx()) return ctx(); return s == STREAM ? OK : INVALID_HANDLE; }

int cuModuleLoadData(void** m, const void* image) {
    if (ctx()) return ctx();
    uint32_t magic;
    memcpy(&magic, image, 4);
    if (magic != 0xBA55ED50u) return INVALID_IMAGE;  /* fatbin magic */
    *m = (void*)0x3D;
    return OK;
}
int cuModuleGetFunction(void** f, void* m, const char* name) {
    if (ctx()) return ctx();
    if (m != (void*)0x3D) return INVALID_HANDLE;
    if (strncmp(name, "missing", 7) == 0) return NOT_FOUND;
    *f = strdup(name);
    return OK;
}
int cuFuncSetAttribute(void* f, int attr, int v) { (void)f; (void)attr; (void)v; return ctx(); }

int cuMemAlloc_v2(uintptr_t* p, size_t bytes) {
    if (ctx()) return ctx();
    pthread_mutex_lock(&lock);
    if (used + bytes > BUDGET) { pthread_mutex_unlock(&lock); return OUT_OF_MEMORY; }
    void* mem = aligned_alloc(256, (bytes + 255) & ~(size_t)255);
    memset(mem, 0xFF, bytes);
    int slot = -1;
    for (int i = 0; i < MAX_ALLOCS; i++) if (!allocs[i].base) { slot = i; break; }
    allocs[slot].base = (uintptr_t)mem;
    allocs[slot].bytes = bytes;
    used += bytes;
    pthread_mutex_unlock(&lock);
    *p = (uintptr_t)mem;
    return OK;
}
int cuMemFree_v2(uintptr_t p) {
    if (ctx()) return ctx();
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_ALLOCS; i++)
        if (allocs[i].base == p) {
            used -= allocs[i].bytes;
            allocs[i].base = 0;
            free((void*)p);
            pthread_mutex_unlock(&lock);
            return OK;
        }
    pthread_mutex_unlock(&lock);
    return INVALID_VALUE;
}
int cuMemGetInfo_v2(size_t* free_, size_t* total) { if (ctx()) return ctx(); *free_ = BUDGET - used; *total = BUDGET; return OK; }
int cuMemAllocHost_v2(void** p, size_t bytes) { if (ctx()) return ctx(); *p = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095); return OK; }
int cuMemFreeHost(void* p) { free(p); return OK; }

int cuMemcpyHtoDAsync_v2(uintptr_t dst, const void* src, size_t bytes, void* s) {
    if (ctx()) return ctx();
    if (s != STREAM) return INVALID_HANDLE;
    if (!inside(dst, bytes)) return INVALID_VALUE;
    memcpy((void*)dst, src, bytes);
    return OK;
}
int cuMemcpyDtoHAsync_v2(void* dst, uintptr_t src, size_t bytes, void* s) {
    if (ctx()) return ctx();
    if (s != STREAM) return INVALID_HANDLE;
    if (!inside(src, bytes)) return INVALID_VALUE;
    memcpy(dst, (const void*)src, bytes);
    return OK;
}
int cuMemcpyDtoDAsync_v2(uintptr_t dst, uintptr_t src, size_t bytes, void* s) {
    if (ctx()) return ctx();
    if (s != STREAM) return INVALID_HANDLE;
    if (!inside(dst, bytes) || !inside(src, bytes)) return INVALID_VALUE;
    memmove((void*)dst, (const void*)src, bytes);
    return OK;
}
int cuMemsetD32Async(uintptr_t dst, unsigned value, size_t count, void* s) {
    if (ctx()) return ctx();
    if (s != STREAM) return INVALID_HANDLE;
    if (!inside(dst, 4 * count)) return INVALID_VALUE;
    for (size_t i = 0; i < count; i++) ((unsigned*)dst)[i] = value;
    return OK;
}

int cuEventCreate(void** e, unsigned flags) { (void)flags; if (ctx()) return ctx(); *e = calloc(1, 8); return OK; }
int cuEventRecord(void* e, void* s) { if (ctx()) return ctx(); (void)e; return s == STREAM ? OK : INVALID_HANDLE; }
int cuEventQuery(void* e) { (void)e; return ctx(); }
int cuEventSynchronize(void* e) { (void)e; return ctx(); }
int cuEventElapsedTime(float* ms, void* a, void* b) { (void)a; (void)b; *ms = 0.25f; return ctx(); }

/* Launches are recorded, not run. The tests launch kernels whose first parameter is an int and whose
 * second is a pointer; both are read back so the parameter array's layout is checked. */
static int g_first_int;
static uintptr_t g_second_ptr;

int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void* s, void** params, void** extra) {
    if (ctx()) return ctx();
    if (s != STREAM || f == NULL) return INVALID_HANDLE;
    if (params == NULL || extra != NULL) return INVALID_VALUE;
    if ((unsigned long long)bx * by * bz > 1024) return INVALID_VALUE;
    pthread_mutex_lock(&lock);
    snprintf(last_kernel, sizeof last_kernel, "%s", (const char*)f);
    unsigned d[7] = {gx, gy, gz, bx, by, bz, shared};
    memcpy(last_dims, d, sizeof d);
    g_first_int = *(const int*)params[0];
    g_second_ptr = *(const uintptr_t*)params[1];
    launches++;
    pthread_mutex_unlock(&lock);
    return OK;
}

int cuOccupancyMaxActiveBlocksPerMultiprocessor(int* n, void* f, int blockSize, size_t shared) {
    if (ctx()) return ctx();
    if (f == NULL || blockSize <= 0 || blockSize > 1024) return INVALID_VALUE;
    *n = shared > 0 ? 1 : 2048 / blockSize;
    return OK;
}

int cuGetErrorName(int code, const char** s) { (void)code; *s = "FAKE_ERROR"; return OK; }

/* For the test: the last launch's kernel name, dimensions, shared bytes, and its first two parameters. */
int fake_launches(void) { return launches; }
int fake_last_first_int(void) { return g_first_int; }
uintptr_t fake_last_second_ptr(void) { return g_second_ptr; }
const char* fake_last_kernel(void) { return last_kernel; }
unsigned fake_last_dim(int i) { return last_dims[i]; }
