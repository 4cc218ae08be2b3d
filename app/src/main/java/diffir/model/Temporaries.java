package diffir.model;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

/**
 * Inference frees the model's intermediate tensors as soon as their last reader has run, as PyTorch's
 * reference counting does, so peak memory is a few activations rather than every one of a block or
 * level. Only without a graph (no-grad): a recorded graph still needs them for backward.
 */
final class Temporaries {
    private Temporaries() {}

    /** Frees each tensor made in the current MemoryScope that the caller will not read again (no-op when recording a graph). */
    static void free(Tensor... temporaries) {
        if (Autograd.enabled()) return;
        for (Tensor t : temporaries) MemoryScope.free(t);
    }

    /** Frees a stage's input once the stage has run, unless its output is that same memory (an empty stage). */
    static void freeInput(Tensor input, Tensor output) {
        if (input.storage() != output.storage()) free(input);
    }
}
