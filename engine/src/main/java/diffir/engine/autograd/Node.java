package diffir.engine.autograd;

import diffir.engine.Tensor;

/**
 * One recorded op in the autograd graph. Edges point at the producing nodes of the inputs (not at
 * the input tensors), so the graph keeps alive only what each backward function captured; that
 * function is dropped as soon as it has run, which frees its saved tensors.
 */
public final class Node {
    /** Computes the gradients of the inputs from the gradient of the output; null where not needed. */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    final String name;
    final Node[] next;
    final Tensor leaf;
    Backward fn;

    private Node(String name, Node[] next, Backward fn, Tensor leaf) {
        this.name = name;
        this.next = next;
        this.fn = fn;
        this.leaf = leaf;
    }

    static Node op(String name, Node[] next, Backward fn) {
        return new Node(name, next, fn, null);
    }

    /** The accumulator of a leaf tensor that requires grad. */
    public static Node leaf(Tensor t) {
        return new Node("leaf", new Node[0], null, t);
    }

    public String name() {
        return name;
    }

    /** True once backward has run through this node and released what it saved. */
    public boolean released() {
        return leaf == null && fn == null;
    }

    @Override
    public String toString() {
        return name;
    }
}
