// The emulator's table of kernels: name -> (signature letters, call with packed arguments).
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

namespace emu_kernels {
struct Kernel {
    std::string signature;  // one letter per parameter: P pointer, I int, L long long, F float
    std::function<void(const uint64_t*)> call;
};

template <class T>
constexpr char code() {
    if constexpr (std::is_pointer_v<T>) return 'P';
    else if constexpr (std::is_same_v<T, int>) return 'I';
    else if constexpr (std::is_same_v<T, long long>) return 'L';
    else if constexpr (std::is_same_v<T, float>) return 'F';
    else static_assert(sizeof(T) == 0, "unsupported kernel parameter type");
}

template <class T>
T unpack(uint64_t slot) {
    if constexpr (std::is_pointer_v<T>) {
        return reinterpret_cast<T>(static_cast<uintptr_t>(slot));
    } else {
        T v;
        std::memcpy(&v, &slot, sizeof v);  // little-endian: the value sits in the low bytes
        return v;
    }
}

template <class... A, size_t... I>
void invoke(void (*f)(A...), const uint64_t* slots, std::index_sequence<I...>) {
    f(unpack<A>(slots[I])...);
}

template <class... A>
Kernel make(void (*f)(A...)) {
    return Kernel{std::string{code<A>()...}, [f](const uint64_t* s) { invoke(f, s, std::index_sequence_for<A...>{}); }};
}

std::map<std::string, Kernel> all();
}  // namespace emu_kernels
