// The CPU emulator's runtime: runs a kernel's grid one block at a time with every CUDA thread a
// coroutine, and provides the device memory. Its C entry points (emu_alloc, emu_free,
// emu_set_order, emu_launch) are called through FFM by diffir.kernels.emulator.EmulatedDevice;
// kernels/README.md says what it checks.
//
// The scheduler runs each ready thread until it reaches a barrier (__syncthreads, or a warp
// operation) or returns, then releases a barrier once every thread it concerns waits there.
// Anything else (a barrier that part of the block skipped, threads stopped at different barriers)
// is an error, not a hang. Kernels have any signature: libffi calls them with the argument types
// the launch names.
#include "cuda_emu.h"

#include <ffi.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace emu {
uint3* current_thread_idx = nullptr;
uint3 block_idx;
dim3 block_dim;
dim3 grid_dim;

namespace {
// ------------------------------------------------------------------ memory with guards
// A buffer's mapping: an inaccessible page, the pages holding the bytes, an inaccessible page. The
// bytes end at the trailing guard page (up to the alignment's rounding); the slack around them is
// 0xFF (NaN as floats) and checked after every launch, so stray writes there are reported too.
struct Buffer {
    char* mapping;
    size_t mappingBytes;
    char* data;
    size_t bytes;
    char* guard;  // the trailing inaccessible page
};

size_t page() {
    static const size_t p = (size_t) sysconf(_SC_PAGESIZE);
    return p;
}

std::mutex buffersLock;
std::map<uintptr_t, Buffer> buffers;  // by data address

char* mapGuarded(size_t bytes, size_t alignment, Buffer& b) {
    const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    const size_t dataPages = std::max<size_t>(1, (rounded + page() - 1) / page());
    b.mappingBytes = (dataPages + 2) * page();
    void* m = mmap(nullptr, b.mappingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    b.mapping = (char*) m;
    b.guard = b.mapping + (dataPages + 1) * page();
    b.data = b.guard - rounded;
    b.bytes = bytes;
    mprotect(b.mapping, page(), PROT_NONE);
    mprotect(b.guard, page(), PROT_NONE);
    std::memset(b.mapping + page(), 0xFF, dataPages * page());
    return b.data;
}

// Offset of the first byte in [p, p + n) that is not 0xFF, or n.
size_t firstWritten(const char* p, size_t n) {
    static const std::vector<char> ones(65536, (char) 0xFF);
    for (size_t at = 0; at < n; at += ones.size()) {
        size_t len = std::min(ones.size(), n - at);
        if (std::memcmp(p + at, ones.data(), len) != 0)
            for (size_t i = 0; i < len; i++)
                if (p[at + i] != (char) 0xFF) return at + i;
    }
    return n;
}

// ------------------------------------------------------------------ threads and blocks
enum State { READY, AT_SYNC, AT_WARP, DONE };

// One cp.async copy in flight: its destination, the 16 bytes read at the issue, and its group (-1
// until committed).
struct AsyncCopy {
    void* dst;
    unsigned char data[16];
    long long group;
};

struct Thread {
    ucontext_t ctx;
    uint3 idx;
    State state;
    std::vector<AsyncCopy> copies;
    long long committed;  // cp.async groups committed so far
};

constexpr size_t STACK_BYTES = 256 * 1024;

std::vector<Thread> threads;
char* stacks = nullptr;  // per thread: an inaccessible page (overflows fault), then its stack
size_t stackSlots = 0;
std::vector<unsigned char> warpSlots;  // 16 bytes per thread: values published for warp operations
Buffer dynamicShared{};
ucontext_t schedulerCtx;
int current = -1;
volatile sig_atomic_t inThread = 0;  // a coroutine runs (on the launching OS thread)
pthread_t launchThread;
long long blockSerial = 0;
int orderMode = 2;  // 0 forward, 1 reverse, 2 shuffled per block
char errorText[1024];
bool failed = false;

ffi_cif* kernelCif;
void* kernelFn;
void** kernelArgs;

size_t stackSlotBytes() {
    return page() + STACK_BYTES;
}

int threadCount() {
    return (int) (block_dim.x * block_dim.y * block_dim.z);
}

int linearTid() {
    const uint3& t = threads[current].idx;
    return (int) (t.x + block_dim.x * (t.y + block_dim.y * t.z));
}

// Records the first error of a launch, with the block and thread when a thread is running.
void setError(const char* fmt, ...) {
    if (failed) return;
    failed = true;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errorText, sizeof errorText, fmt, ap);
    va_end(ap);
    if (current >= 0 && n >= 0 && (size_t) n < sizeof errorText) {
        const uint3& t = threads[current].idx;
        snprintf(errorText + n, sizeof errorText - n, " (block %u,%u,%u thread %u,%u,%u)", block_idx.x, block_idx.y,
                 block_idx.z, t.x, t.y, t.z);
    }
}

void threadMain() {
    ffi_arg ignored;
    ffi_call(kernelCif, FFI_FN(kernelFn), &ignored, kernelArgs);
    threads[current].state = DONE;  // returning resumes uc_link, the scheduler
}

void yield(State s) {
    threads[current].state = s;
    swapcontext(&threads[current].ctx, &schedulerCtx);
}

bool reserveStacks(int n) {
    if (stackSlots >= (size_t) n) return true;
    if (stacks) munmap(stacks, stackSlots * stackSlotBytes());
    stackSlots = 0;
    void* m = mmap(nullptr, (size_t) n * stackSlotBytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return false;
    stacks = (char*) m;
    for (int k = 0; k < n; k++) mprotect(stacks + k * stackSlotBytes(), page(), PROT_NONE);
    stackSlots = (size_t) n;
    return true;
}

void releaseBarriers(int n) {
    int done = 0, atSync = 0, atWarp = 0;
    for (const Thread& t : threads) {
        done += t.state == DONE;
        atSync += t.state == AT_SYNC;
        atWarp += t.state == AT_WARP;
    }
    if (done == n) return;
    bool released = false;
    if (atSync > 0 && atWarp == 0 && atSync + done == n) {
        if (done > 0) return setError("__syncthreads reached after %d thread(s) of the block returned", done);
        for (Thread& t : threads) t.state = READY;
        released = true;
    }
    for (int w = 0; w * 32 < n; w++) {
        const int lanes = std::min(32, n - 32 * w);
        int waiting = 0, exited = 0;
        for (int l = 0; l < lanes; l++) {
            waiting += threads[32 * w + l].state == AT_WARP;
            exited += threads[32 * w + l].state == DONE;
        }
        if (waiting == lanes) {
            for (int l = 0; l < lanes; l++) threads[32 * w + l].state = READY;
            released = true;
        } else if (waiting > 0 && waiting + exited == lanes) {
            return setError("warp %d: a warp operation reached after %d lane(s) returned", w, exited);
        }
    }
    if (!released)
        setError("threads stopped at different barriers: %d at __syncthreads, %d at warp operations, %d returned", atSync,
                 atWarp, done);
}

// Runs the current block to completion; false (with the error set) on a failure.
bool runBlock() {
    const int n = threadCount();
    threads.resize(n);
    warpSlots.assign((size_t) ((n + 31) / 32) * 32 * 16, 0);
    if (dynamicShared.data) std::memset(dynamicShared.data, 0xFF, dynamicShared.bytes);
    for (int k = 0; k < n; k++) {
        Thread& t = threads[k];
        t.idx = uint3{(unsigned) (k % block_dim.x), (unsigned) ((k / block_dim.x) % block_dim.y),
                      (unsigned) (k / (block_dim.x * block_dim.y))};
        t.state = READY;
        t.copies.clear();
        t.committed = 0;
        getcontext(&t.ctx);
        t.ctx.uc_stack.ss_sp = stacks + k * stackSlotBytes() + page();
        t.ctx.uc_stack.ss_size = STACK_BYTES;
        t.ctx.uc_link = &schedulerCtx;
        makecontext(&t.ctx, threadMain, 0);
    }
    std::vector<int> order(n);
    for (int k = 0; k < n; k++) order[k] = orderMode == 1 ? n - 1 - k : k;
    if (orderMode == 2) {
        std::mt19937 rng((unsigned) blockSerial * 2654435761u + 17u);
        std::shuffle(order.begin(), order.end(), rng);
    }
    for (;;) {
        bool allDone = true;
        for (int k : order) {
            if (threads[k].state != READY) continue;
            current = k;
            current_thread_idx = &threads[k].idx;
            inThread = 1;
            swapcontext(&schedulerCtx, &threads[k].ctx);
            inThread = 0;
            current = -1;
            if (failed) return false;
        }
        for (const Thread& t : threads) allDone &= t.state == DONE;
        if (allDone) return true;
        releaseBarriers(n);
        if (failed) return false;
    }
}

void requireFullWarp(unsigned mask) {
    if (mask != 0xffffffffu) fail("only full-mask warp operations are emulated");
    if ((linearTid() / 32 + 1) * 32 > threadCount())
        fail("a full-mask warp operation in a partial warp (block size not a multiple of 32)");
}

// ------------------------------------------------------------------ faults
// While a kernel runs, SIGSEGV on the launching thread is the kernel's: it becomes the launch's
// error and the scheduler resumes. Any other SIGSEGV (the JVM uses them) goes to the previous handler.
struct sigaction previousSegv;
stack_t previousAltStack;
std::vector<char> altStack(64 * 1024);

// Names the guard page of b that address a hit, if it did.
bool describeGuardHit(const Buffer& b, const char* what, uintptr_t a, const char* access) {
    const uintptr_t guard = (uintptr_t) b.guard, mapping = (uintptr_t) b.mapping;
    if (b.mapping == nullptr || !((a >= guard && a < guard + page()) || (a >= mapping && a < mapping + page()))) return false;
    setError("%s at byte %lld of %s of %zu bytes at %p", access, (long long) (a - (uintptr_t) b.data), what, b.bytes, b.data);
    return true;
}

void describeFault(uintptr_t a, bool write) {
    const char* access = write ? "a write" : "an access";
    for (const auto& [key, b] : buffers)  // no lock: a signal handler must not wait, and nothing allocates mid-launch
        if (describeGuardHit(b, "a buffer", a, access)) return;
    if (describeGuardHit(dynamicShared, "the dynamic shared memory", a, access)) return;
    const uintptr_t s = (uintptr_t) stacks;
    if (a >= s && a < s + stackSlots * stackSlotBytes() && (a - s) % stackSlotBytes() < page())
        return setError("stack overflow: a CUDA thread's locals exceed %zu KiB", STACK_BYTES / 1024);
    setError("%s to invalid address %p", access, (void*) a);
}

void onSegv(int sig, siginfo_t* info, void* context) {
    if (inThread && pthread_equal(pthread_self(), launchThread)) {
        bool write = false;
#if defined(__x86_64__)
        write = (((ucontext_t*) context)->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
        describeFault((uintptr_t) info->si_addr, write);
        inThread = 0;
        setcontext(&schedulerCtx);  // the scheduler sees the error and abandons the block
    }
    if (previousSegv.sa_flags & SA_SIGINFO) {
        previousSegv.sa_sigaction(sig, info, context);
    } else if (previousSegv.sa_handler == SIG_DFL) {
        signal(sig, SIG_DFL);  // the access repeats and takes the default action
    } else if (previousSegv.sa_handler != SIG_IGN) {
        previousSegv.sa_handler(sig);
    }
}

void catchFaults() {
    launchThread = pthread_self();
    stack_t ss{};
    ss.ss_sp = altStack.data();
    ss.ss_size = altStack.size();
    sigaltstack(&ss, &previousAltStack);  // a thread whose stack overflowed needs another for the handler
    struct sigaction sa{};
    sigaction(SIGSEGV, nullptr, &previousSegv);
    sa.sa_sigaction = onSegv;
    sa.sa_flags = (previousSegv.sa_flags & ~SA_RESETHAND) | SA_SIGINFO | SA_ONSTACK;
    sa.sa_mask = previousSegv.sa_mask;
    sigaction(SIGSEGV, &sa, nullptr);
}

void restoreFaults() {
    sigaction(SIGSEGV, &previousSegv, nullptr);
    sigaltstack(&previousAltStack, nullptr);
}

// Stray writes into the slack around any buffer since the last check (then the slack is reset).
void checkSlack() {
    std::lock_guard<std::mutex> l(buffersLock);
    for (auto& [key, b] : buffers) {
        char* lead = b.mapping + page();
        size_t leadBytes = (size_t) (b.data - lead), tailBytes = (size_t) (b.guard - b.data) - b.bytes;
        size_t at = firstWritten(lead, leadBytes);
        if (at < leadBytes)
            setError("a write at byte %lld of a buffer of %zu bytes at %p", -(long long) (leadBytes - at), b.bytes, b.data);
        at = firstWritten(b.data + b.bytes, tailBytes);
        if (at < tailBytes) setError("a write at byte %zu of a buffer of %zu bytes at %p", b.bytes + at, b.bytes, b.data);
        std::memset(lead, 0xFF, leadBytes);
        std::memset(b.data + b.bytes, 0xFF, tailBytes);
    }
}
}  // namespace

// ------------------------------------------------------------------ what cuda_emu.h declares
void syncthreads() {
    yield(AT_SYNC);
}

void syncwarp(unsigned mask) {
    requireFullWarp(mask);
    yield(AT_WARP);
}

int lane() {
    return linearTid() & 31;
}

void warp_exchange(unsigned mask, const void* value, void* out, int bytes, int src) {
    requireFullWarp(mask);
    const int tid = linearTid(), warp = tid / 32;
    std::memcpy(&warpSlots[(size_t) tid * 16], value, bytes);
    yield(AT_WARP);  // every lane has published its value
    std::memcpy(out, &warpSlots[(size_t) (src < 0 ? tid : warp * 32 + src) * 16], bytes);
    yield(AT_WARP);  // every lane has read before any lane publishes again
}

unsigned ballot(unsigned mask, int predicate) {
    requireFullWarp(mask);
    const int tid = linearTid(), warp = tid / 32;
    warpSlots[(size_t) tid * 16] = predicate ? 1 : 0;
    yield(AT_WARP);
    unsigned r = 0;
    for (int l = 0; l < 32; l++) r |= (unsigned) warpSlots[(size_t) (warp * 32 + l) * 16] << l;
    yield(AT_WARP);
    return r;
}

void* dynamic_shared() {
    return dynamicShared.data;
}

void poison_shared(void* p, size_t bytes, long long& stamp) {
    if (stamp == blockSerial) return;
    stamp = blockSerial;
    std::memset(p, 0xFF, bytes);  // 0xffffffff is a NaN
}

void check_aligned(const void* p, size_t alignment, const char* file, int line) {
    if (((uintptr_t) p) % alignment == 0) return;
    char buf[256];
    snprintf(buf, sizeof buf, "misaligned %zu-byte access at %p (%s:%d)", alignment, p, file, line);
    fail(buf);
}

void cp_async16(void* dst, const void* src, bool valid) {
    AsyncCopy c{dst, {}, -1};
    if (valid) std::memcpy(c.data, src, 16);
    else std::memset(c.data, 0, 16);
    std::memset(dst, 0xFF, 16);  // NaN until waited for
    threads[current].copies.push_back(c);
}

void cp_async_commit() {
    Thread& t = threads[current];
    for (AsyncCopy& c : t.copies)
        if (c.group < 0) c.group = t.committed;
    t.committed++;
}

// Lands every copy of the groups older than the pendingGroups most recent committed ones.
void cp_async_wait(int pendingGroups) {
    Thread& t = threads[current];
    const long long limit = t.committed - pendingGroups;  // groups below limit must have landed
    // In place (no vector per call): remove_if visits the copies in issue order, so overlapping ones land as issued.
    t.copies.erase(std::remove_if(t.copies.begin(), t.copies.end(),
                                  [limit](const AsyncCopy& c) {
                                      if (c.group < 0 || c.group >= limit) return false;
                                      std::memcpy(c.dst, c.data, 16);
                                      return true;
                                  }),
                   t.copies.end());
}

[[noreturn]] void fail(const char* message) {
    setError("%s", message);
    swapcontext(&threads[current].ctx, &schedulerCtx);  // never resumed
    std::abort();
}
}  // namespace emu

using namespace emu;

namespace {
int report(char* err, int errLen, const char* message) {
    if (errLen > 0) {
        std::strncpy(err, message, errLen - 1);
        err[errLen - 1] = 0;
    }
    return 1;
}
}  // namespace

// Device memory of `bytes`, aligned to `alignment` (a power of two, at least 4), NaN-filled, ending at
// an inaccessible page up to the alignment's rounding; null when the mapping fails.
extern "C" void* emu_alloc(size_t bytes, size_t alignment) {
    Buffer b{};
    if (mapGuarded(bytes, alignment, b) == nullptr) return nullptr;
    std::lock_guard<std::mutex> l(buffersLock);
    buffers[(uintptr_t) b.data] = b;
    return b.data;
}

// 0, or 1 when p is not a live allocation.
extern "C" int emu_free(void* p) {
    std::lock_guard<std::mutex> l(buffersLock);
    auto it = buffers.find((uintptr_t) p);
    if (it == buffers.end()) return 1;
    munmap(it->second.mapping, it->second.mappingBytes);
    buffers.erase(it);
    return 0;
}

// 0 forward, 1 reverse, 2 shuffled (the default) thread order within each block.
extern "C" void emu_set_order(int mode) {
    orderMode = mode;
}

// Runs kernel fn over the whole grid. types has one letter per argument (P pointer, I int, L long long,
// F float, S struct of structInts[i] ints); values[i] points at argument i. Returns 0, or 1 with a
// message in err: a check failed, or the launch itself is invalid.
extern "C" int emu_launch(void* fn, const char* types, const int* structInts, void** values, int nargs, int gx, int gy,
                          int gz, int bx, int by, int bz, int sharedBytes, char* err, int errLen) {
    if (bx < 1 || by < 1 || bz < 1 || bx > 1024 || by > 1024 || bz > 64 || (long) bx * by * bz > 1024)
        return report(err, errLen, "invalid block size (at most 1024 threads, z at most 64)");
    if (gx < 1 || gy < 1 || gz < 1 || gy > 65535 || gz > 65535)
        return report(err, errLen, "invalid grid size (y and z at most 65535)");
    if (sharedBytes < 0 || sharedBytes > 227 * 1024)
        return report(err, errLen, "dynamic shared memory over the 227 KiB a block can have");

    std::vector<ffi_type*> argTypes(nargs);
    std::vector<ffi_type> structs(nargs);
    std::vector<std::vector<ffi_type*>> fields(nargs);
    for (int i = 0; i < nargs; i++) {
        switch (types[i]) {
            case 'P': argTypes[i] = &ffi_type_pointer; break;
            case 'I': argTypes[i] = &ffi_type_sint32; break;
            case 'L': argTypes[i] = &ffi_type_sint64; break;
            case 'F': argTypes[i] = &ffi_type_float; break;
            case 'S':
                if (structInts[i] < 1) return report(err, errLen, "an empty struct argument");
                fields[i].assign(structInts[i], &ffi_type_sint32);
                fields[i].push_back(nullptr);
                structs[i] = ffi_type{0, 0, FFI_TYPE_STRUCT, fields[i].data()};
                argTypes[i] = &structs[i];
                break;
            default: return report(err, errLen, "unknown argument type letter");
        }
    }
    ffi_cif cif;
    if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, nargs, &ffi_type_void, argTypes.data()) != FFI_OK)
        return report(err, errLen, "libffi cannot call a function of these argument types");

    block_dim = dim3{(unsigned) bx, (unsigned) by, (unsigned) bz};
    grid_dim = dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz};
    if (!reserveStacks(bx * by * bz)) return report(err, errLen, "no memory for the CUDA threads' stacks");
    if (sharedBytes > 0 && mapGuarded(sharedBytes, 16, dynamicShared) == nullptr)
        return report(err, errLen, "no memory for dynamic shared memory");
    kernelCif = &cif;
    kernelFn = fn;
    kernelArgs = values;
    failed = false;
    catchFaults();
    for (int z = 0; z < gz && !failed; z++)
        for (int y = 0; y < gy && !failed; y++)
            for (int x = 0; x < gx && !failed; x++) {
                block_idx = uint3{(unsigned) x, (unsigned) y, (unsigned) z};
                blockSerial++;
                runBlock();
            }
    restoreFaults();
    if (dynamicShared.data) {
        munmap(dynamicShared.mapping, dynamicShared.mappingBytes);
        dynamicShared = Buffer{};
    }
    checkSlack();
    return failed ? report(err, errLen, errorText) : 0;
}
