// The CPU emulator's runtime: block and thread coordinates, barriers, warp exchange, dynamic shared
// memory, and device memory with guard pages (an out-of-bounds access past a buffer's end faults).
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <atomic>
#include <sys/mman.h>
#include <unistd.h>

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace {
uint3 g_block;
long long g_block_serial = 0;
std::mutex g_poison;
std::unique_ptr<std::barrier<>> g_block_barrier;
std::vector<std::unique_ptr<std::barrier<>>> g_warp_barriers;
std::vector<unsigned char> g_slots;  // [warp][lane][16 bytes]
std::vector<unsigned char> g_dynamic;
thread_local int t_linear = 0;
// This thread's cp.async copies in flight (destination, the 16 bytes read at the issue, group; -1
// until committed) and the number of groups it has committed.
struct AsyncCopy { void* dst; unsigned char data[16]; long long group; };
thread_local std::vector<AsyncCopy> t_copies;
thread_local long long t_committed = 0;
std::mutex g_atomic;
std::mutex g_alloc;
struct Mapping { void* base; size_t total; };
std::unordered_map<uintptr_t, Mapping> g_maps;
}  // namespace

extern "C" {

void emu_begin_block(int bx, int by, int bz, int gx, int gy, int gz, int tx, int ty, int tz, int sharedBytes) {
    g_block = uint3{(unsigned)bx, (unsigned)by, (unsigned)bz};
    ++g_block_serial;
    gridDim = dim3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim = dim3{(unsigned)tx, (unsigned)ty, (unsigned)tz};
    int n = tx * ty * tz;
    g_block_barrier = std::make_unique<std::barrier<>>(n);
    int warps = (n + 31) / 32;
    g_warp_barriers.clear();
    for (int w = 0; w < warps; ++w) g_warp_barriers.push_back(std::make_unique<std::barrier<>>(n - w * 32 < 32 ? n - w * 32 : 32));
    g_slots.assign((size_t)warps * 32 * 16, 0);
    g_dynamic.assign((size_t)sharedBytes + 16, 0xFF);  // NaN-filled: reads of unwritten shared memory show
}

void emu_enter_thread(int x, int y, int z) {
    threadIdx = uint3{(unsigned)x, (unsigned)y, (unsigned)z};
    blockIdx = g_block;
    t_linear = x + y * (int)blockDim.x + z * (int)blockDim.x * (int)blockDim.y;
    t_copies.clear();
    t_committed = 0;
}

// A thread that returns no longer counts at barriers (as on the GPU).
void emu_exit_thread() {
    g_block_barrier->arrive_and_drop();
    g_warp_barriers[t_linear / 32]->arrive_and_drop();
}

void emu_end_block() {
    g_block_barrier.reset();
    g_warp_barriers.clear();
}

void __syncthreads() { g_block_barrier->arrive_and_wait(); }

void emu_syncwarp() { g_warp_barriers[t_linear / 32]->arrive_and_wait(); }

int emu_lane() { return t_linear & 31; }

void emu_warp_exchange(const void* value, void* out, int bytes, int src) {
    int warp = t_linear / 32, lane = t_linear & 31;
    unsigned char* slots = g_slots.data() + (size_t)warp * 32 * 16;
    std::memcpy(slots + lane * 16, value, bytes);
    g_warp_barriers[warp]->arrive_and_wait();
    std::memcpy(out, slots + (src < 0 ? lane : src) * 16, bytes);
    g_warp_barriers[warp]->arrive_and_wait();
}

unsigned emu_ballot(int predicate) {
    int warp = t_linear / 32, lane = t_linear & 31;
    unsigned char* slots = g_slots.data() + (size_t)warp * 32 * 16;
    slots[lane * 16] = predicate ? 1 : 0;
    g_warp_barriers[warp]->arrive_and_wait();
    unsigned r = 0;
    for (int i = 0; i < 32; ++i) r |= (unsigned)(slots[i * 16] & 1) << i;
    g_warp_barriers[warp]->arrive_and_wait();
    return r;
}

void* emu_dynamic_shared() {
    uintptr_t p = (uintptr_t)g_dynamic.data();
    return (void*)((p + 15) & ~(uintptr_t)15);
}

long long emu_block_serial() { return g_block_serial; }

void emu_poison_once(void* p, unsigned long long bytes, long long* stamp) {
    std::lock_guard<std::mutex> l(g_poison);
    if (*stamp == g_block_serial) return;
    std::memset(p, 0xFF, bytes);
    *stamp = g_block_serial;
}

void emu_check_aligned(const void* p, unsigned long long alignment, const char* file, int line) {
    if (((uintptr_t)p & (alignment - 1)) == 0) return;
    std::fprintf(stderr, "emulator: %p is not %llu-byte aligned at %s:%d\n", p, alignment, file, line);
    std::abort();
}

void emu_cp_async16(void* dst, const void* src, int valid) {
    AsyncCopy c{dst, {}, -1};
    if (valid) std::memcpy(c.data, src, 16);
    else std::memset(c.data, 0, 16);
    std::memset(dst, 0xFF, 16);  // NaN until waited for
    t_copies.push_back(c);
}

void emu_cp_async_commit() {
    for (AsyncCopy& c : t_copies)
        if (c.group < 0) c.group = t_committed;
    t_committed++;
}

void emu_cp_async_wait(int pendingGroups) {
    const long long limit = t_committed - pendingGroups;
    std::vector<AsyncCopy> left;
    for (const AsyncCopy& c : t_copies) {
        if (c.group >= 0 && c.group < limit) std::memcpy(c.dst, c.data, 16);
        else left.push_back(c);
    }
    t_copies.swap(left);
}

void emu_threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

float emu_atomic_add_f(float* p, float v) { std::lock_guard<std::mutex> l(g_atomic); float o = *p; *p = o + v; return o; }
double emu_atomic_add_d(double* p, double v) { std::lock_guard<std::mutex> l(g_atomic); double o = *p; *p = o + v; return o; }
int emu_atomic_add_i(int* p, int v) { std::lock_guard<std::mutex> l(g_atomic); int o = *p; *p = o + v; return o; }

// Device memory: the buffer ends where an inaccessible page begins, and is NaN-filled.
void* emu_alloc(size_t bytes) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (bytes + 15) & ~(size_t)15;
    size_t dataPages = (rounded + page - 1) / page;
    size_t total = (dataPages + 2) * page;
    void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    char* b = (char*)base;
    mprotect(b, page, PROT_NONE);
    mprotect(b + (dataPages + 1) * page, page, PROT_NONE);
    char* user = b + (dataPages + 1) * page - rounded;
    std::memset(user, 0xFF, rounded);
    std::lock_guard<std::mutex> l(g_alloc);
    g_maps[(uintptr_t)user] = Mapping{base, total};
    return user;
}

int emu_free(void* p) {
    std::lock_guard<std::mutex> l(g_alloc);
    auto it = g_maps.find((uintptr_t)p);
    if (it == g_maps.end()) return 1;
    munmap(it->second.base, it->second.total);
    g_maps.erase(it);
    return 0;
}

}  // extern "C"
