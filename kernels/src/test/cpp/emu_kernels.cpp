// Compiles the fused kernels' CUDA sources as C++ and lists them for emu_launch. Each .cu goes in
// its own namespace (their file-local helpers may share names); fused_common.cuh is included first
// at global scope so that its #pragma once keeps the shared helpers there.
#include "cuda_emu.h"
#include "fused_common.cuh"
#include "emu_kernels.h"

namespace k_ln {
#include "fused_layernorm.cu"
}
namespace k_gdfn {
#include "fused_gdfn.cu"
}
namespace k_attn {
#include "fused_attention.cu"
}

#define KERNEL(ns, name) {#name, make(&ns::name)}

std::map<std::string, emu_kernels::Kernel> emu_kernels::all() {
    return {
        KERNEL(k_ln, fused_ln_fwd_c16),
        KERNEL(k_ln, fused_ln_fwd_c32),
        KERNEL(k_ln, fused_ln_fwd_c48),
        KERNEL(k_ln, fused_ln_fwd_c64),
        KERNEL(k_ln, fused_ln_fwd_c96),
        KERNEL(k_ln, fused_ln_fwd_c128),
        KERNEL(k_ln, fused_ln_bwd_c16),
        KERNEL(k_ln, fused_ln_bwd_c32),
        KERNEL(k_ln, fused_ln_bwd_c48),
        KERNEL(k_ln, fused_ln_bwd_c64),
        KERNEL(k_ln, fused_ln_bwd_c96),
        KERNEL(k_ln, fused_ln_fwd_v4),
        KERNEL(k_ln, fused_ln_fwd_v1),
        KERNEL(k_ln, fused_ln_bwd_v4),
        KERNEL(k_ln, fused_ln_bwd_v1),
        KERNEL(k_ln, fused_ln_bwd_reduce),
        KERNEL(k_gdfn, fused_gdfn_fwd_k1),
        KERNEL(k_gdfn, fused_gdfn_fwd_k1_v4),
        KERNEL(k_gdfn, fused_gdfn_fwd_k3),
        KERNEL(k_gdfn, fused_gdfn_fwd_k3_v4),
        KERNEL(k_gdfn, fused_gdfn_fwd_k5),
        KERNEL(k_gdfn, fused_gdfn_fwd_k5_v4),
        KERNEL(k_gdfn, fused_gdfn_bwd_k1),
        KERNEL(k_gdfn, fused_gdfn_bwd_k1_v4),
        KERNEL(k_gdfn, fused_gdfn_bwd_k3),
        KERNEL(k_gdfn, fused_gdfn_bwd_k3_v4),
        KERNEL(k_gdfn, fused_gdfn_bwd_k5),
        KERNEL(k_gdfn, fused_gdfn_bwd_k5_v4),
        KERNEL(k_gdfn, fused_gdfn_bwd_strip_k3),
        KERNEL(k_gdfn, fused_gdfn_bwd_finalize),
        KERNEL(k_attn, fused_attn_gram_v4),
        KERNEL(k_attn, fused_attn_gram_v1),
        KERNEL(k_attn, fused_attn_gram_r8),
        KERNEL(k_attn, fused_attn_gram_r12),
        KERNEL(k_attn, fused_attn_gram_r16),
        KERNEL(k_attn, fused_attn_apply_r4),
        KERNEL(k_attn, fused_attn_apply_r8),
        KERNEL(k_attn, fused_attn_apply_r12),
        KERNEL(k_attn, fused_attn_apply_r16),
        KERNEL(k_attn, fused_attn_apply_pair_r4),
        KERNEL(k_attn, fused_attn_apply_pair_r8),
        KERNEL(k_attn, fused_attn_apply_pair_r12),
        KERNEL(k_attn, fused_attn_reduce),
        KERNEL(k_attn, fused_attn_softmax),
        KERNEL(k_attn, fused_attn_apply_v4),
        KERNEL(k_attn, fused_attn_apply_v1),
        KERNEL(k_attn, fused_attn_apply_pair_v4),
        KERNEL(k_attn, fused_attn_apply_pair_v1),
        KERNEL(k_attn, fused_attn_bwd_coef),
        KERNEL(k_attn, fused_attn_gtemp),
        KERNEL(k_attn, fused_attn_gram_pipe_r4),
        KERNEL(k_attn, fused_attn_gram_pipe_r8),
        KERNEL(k_attn, fused_attn_gram_pipe_r12),
        KERNEL(k_attn, fused_attn_apply_softmax_r4),
        KERNEL(k_attn, fused_attn_apply_softmax_r8),
        KERNEL(k_attn, fused_attn_apply_softmax_r12),
        KERNEL(k_attn, fused_attn_gram_gv_r4),
        KERNEL(k_attn, fused_attn_gram_gv_r8),
        KERNEL(k_attn, fused_attn_gram_gv_r12),
        KERNEL(k_attn, fused_attn_pair_r4),
        KERNEL(k_attn, fused_attn_pair_r8),
        KERNEL(k_attn, fused_attn_pair_r12),
    };
}
