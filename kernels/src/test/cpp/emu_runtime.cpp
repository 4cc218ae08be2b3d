// The emulator's scheduler and its C entry point (emu_launch), loaded by the tests through FFM
// (diffir.kernels.fused.EmulatedLauncher). See cuda_emu.h for what it checks.
//
// Every CUDA thread of a block is a ucontext coroutine. The scheduler runs each ready thread until
// it reaches a barrier (__syncthreads or a warp shuffle) or returns, then releases a barrier once
// every thread it concerns is waiting there. Anything else (a barrier that part of the block
// skipped, or threads stopped at different barriers) is reported as an error, not a hang.
#include "cuda_emu.h"

#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "emu_kernels.h"

namespace emu {
uint3* current_thread_idx = nullptr;
uint3 block_idx;
dim3 block_dim;
dim3 grid_dim;

namespace {
enum State { READY, AT_SYNC, AT_WARP, DONE };

// One cp.async copy in flight: its destination, the 16 bytes read at the issue, and its group
// (-1 until committed).
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
    long long committed;  // groups committed so far
};

constexpr size_t STACK_BYTES = 256 * 1024;

std::vector<Thread> threads;
std::unique_ptr<char[]> stacks;
size_t stackCapacity = 0;
std::vector<uint32_t> warpSlots;
ucontext_t schedulerCtx;
int current = -1;
long long blockSerial = 0;
std::string error;
std::function<void()> body;
int orderMode = 2;  // 0 forward, 1 reverse, 2 shuffled per block

void threadMain() {
    body();
    threads[current].state = DONE;  // returning resumes uc_link, the scheduler
}

void yield(State s) {
    threads[current].state = s;
    swapcontext(&threads[current].ctx, &schedulerCtx);
}

int linearTid() {
    const uint3& t = threads[current].idx;
    return (int) (t.x + block_dim.x * (t.y + block_dim.y * t.z));
}

std::string where() {
    char buf[160];
    const uint3& t = threads[current].idx;
    snprintf(buf, sizeof buf, " (block %u,%u,%u thread %u,%u,%u)", block_idx.x, block_idx.y, block_idx.z, t.x, t.y, t.z);
    return buf;
}

// Runs one block to completion; false (with error set) on a failure.
bool runBlock() {
    const int n = (int) (block_dim.x * block_dim.y * block_dim.z);
    if (stackCapacity < (size_t) n * STACK_BYTES) {
        stacks.reset(new char[(size_t) n * STACK_BYTES]);
        stackCapacity = (size_t) n * STACK_BYTES;
    }
    threads.resize(n);
    warpSlots.assign(((n + 31) / 32) * 32, 0xffffffffu);
    for (int k = 0; k < n; k++) {
        Thread& t = threads[k];
        t.idx = uint3{(unsigned) (k % block_dim.x), (unsigned) ((k / block_dim.x) % block_dim.y),
                      (unsigned) (k / (block_dim.x * block_dim.y))};
        t.state = READY;
        t.copies.clear();
        t.committed = 0;
        getcontext(&t.ctx);
        t.ctx.uc_stack.ss_sp = stacks.get() + (size_t) k * STACK_BYTES;
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
        for (int k : order) {
            if (threads[k].state != READY) continue;
            current = k;
            current_thread_idx = &threads[k].idx;
            swapcontext(&schedulerCtx, &threads[k].ctx);
            if (!error.empty()) return false;
        }
        int done = 0, atSync = 0, atWarp = 0;
        for (const Thread& t : threads) {
            done += t.state == DONE;
            atSync += t.state == AT_SYNC;
            atWarp += t.state == AT_WARP;
        }
        if (done == n) return true;
        bool released = false;
        if (atSync > 0 && atWarp == 0 && atSync + done == n) {
            if (done > 0) {
                error = "__syncthreads reached after " + std::to_string(done) + " thread(s) of the block returned";
                return false;
            }
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
                error = "warp " + std::to_string(w) + ": shuffle reached after some lanes returned";
                return false;
            }
        }
        if (!released) {
            error = "threads stopped at different barriers: " + std::to_string(atSync) + " at __syncthreads, " +
                    std::to_string(atWarp) + " at warp shuffles, " + std::to_string(done) + " returned";
            return false;
        }
    }
}
}  // namespace

void syncthreads() {
    yield(AT_SYNC);
}

float shfl_xor(unsigned mask, float v, int laneMask) {
    const int tid = linearTid(), lane = tid & 31, warp = tid >> 5;
    const int n = (int) (block_dim.x * block_dim.y * block_dim.z);
    if (mask != 0xffffffffu) fail("only full-mask shuffles are emulated");
    if ((warp + 1) * 32 > n) fail("full-mask shuffle in a partial warp (block size not a multiple of 32)");
    if (laneMask < 0 || laneMask > 31) fail("shuffle lane mask out of range");
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    warpSlots[tid] = bits;
    yield(AT_WARP);  // every lane has published its value
    bits = warpSlots[warp * 32 + (lane ^ laneMask)];
    yield(AT_WARP);  // every lane has read before any lane publishes again
    float r;
    std::memcpy(&r, &bits, 4);
    return r;
}

void cp_async16(void* dst, const void* src, bool valid) {
    AsyncCopy c{dst, {}, -1};
    if (valid) std::memcpy(c.data, src, 16);
    else std::memset(c.data, 0, 16);
    std::memset(dst, 0xff, 16);  // NaN until waited for
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
    const long long limit = t.committed - pendingGroups;  // groups < limit must have landed
    std::vector<AsyncCopy> left;
    for (const AsyncCopy& c : t.copies) {
        if (c.group >= 0 && c.group < limit) std::memcpy(c.dst, c.data, 16);
        else left.push_back(c);
    }
    t.copies.swap(left);
}

void poison_shared(void* p, size_t bytes, long long& stamp) {
    if (stamp == blockSerial) return;
    stamp = blockSerial;
    std::memset(p, 0xff, bytes);  // 0xffffffff is a NaN
}

void check_aligned(const void* p, size_t alignment, const char* file, int line) {
    if (((uintptr_t) p) % alignment == 0) return;
    char buf[256];
    snprintf(buf, sizeof buf, "misaligned %zu-byte access at %p (%s:%d)", alignment, p, file, line);
    fail(buf);
}

[[noreturn]] void fail(const char* message) {
    if (error.empty()) error = std::string(message) + where();
    swapcontext(&threads[current].ctx, &schedulerCtx);  // never resumed
    std::abort();
}
}  // namespace emu

namespace {
std::map<std::string, emu_kernels::Kernel>& registry() {
    static std::map<std::string, emu_kernels::Kernel> r = emu_kernels::all();
    return r;
}

int report(char* err, int errLen, const std::string& message) {
    if (errLen > 0) {
        std::strncpy(err, message.c_str(), errLen - 1);
        err[errLen - 1] = 0;
    }
    return 1;
}
}  // namespace

// 0 forward, 1 reverse, 2 shuffled thread order within each block.
extern "C" void emu_set_order(int mode) {
    emu::orderMode = mode;
}

// Runs kernel `name` over the whole grid. types has one letter per argument (P pointer, I int,
// L long long, F float) and must match the kernel's signature; slots holds the values (pointers as
// addresses, scalars in their low bytes). Returns 0, or 1 with a message in err.
extern "C" int emu_launch(const char* name, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                          const char* types, const uint64_t* slots, int nargs, char* err, int errLen) {
    auto it = registry().find(name);
    if (it == registry().end()) return report(err, errLen, std::string("no kernel named ") + name);
    const emu_kernels::Kernel& k = it->second;
    if (k.signature != std::string(types, nargs))
        return report(err, errLen, std::string(name) + " takes (" + k.signature + ") but was launched with (" +
                                       std::string(types, nargs) + ")");
    if (sharedBytes != 0) return report(err, errLen, std::string(name) + ": the fused kernels use no dynamic shared memory");
    if (bx < 1 || by < 1 || bz < 1 || (long) bx * by * bz > 1024 || bz > 64)
        return report(err, errLen, std::string(name) + ": invalid block size");
    if (gx < 1 || gy < 1 || gz < 1 || gy > 65535 || gz > 65535)
        return report(err, errLen, std::string(name) + ": invalid grid size");
    emu::error.clear();
    emu::block_dim = dim3{(unsigned) bx, (unsigned) by, (unsigned) bz};
    emu::grid_dim = dim3{(unsigned) gx, (unsigned) gy, (unsigned) gz};
    emu::body = [&k, slots] { k.call(slots); };
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                emu::block_idx = uint3{(unsigned) x, (unsigned) y, (unsigned) z};
                emu::blockSerial++;
                if (!emu::runBlock()) return report(err, errLen, std::string(name) + ": " + emu::error);
            }
    return 0;
}
