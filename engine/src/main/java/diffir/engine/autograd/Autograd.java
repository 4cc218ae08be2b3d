package diffir.engine.autograd;

import diffir.engine.MemoryScope;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Reverse-mode automatic differentiation: recording, the no-grad scope and the backward pass. */
public final class Autograd {
    private Autograd() {}

    private static final ThreadLocal<int[]> NO_GRAD = ThreadLocal.withInitial(() -> new int[1]);

    /** True when ops on this thread should record a graph. */
    public static boolean enabled() {
        return NO_GRAD.get()[0] == 0;
    }

    /** A scope in which no graph is recorded: {@code try (var s = Autograd.noGrad()) { ... }}. Nests. */
    public static Scope noGrad() {
        int[] depth = NO_GRAD.get();
        depth[0]++;
        return () -> depth[0]--;
    }

    public interface Scope extends AutoCloseable {
        @Override
        void close();
    }

    /** True when any input takes part in autograd and recording is on. */
    public static boolean needsGrad(Tensor... inputs) {
        if (!enabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Records that {@code out} was computed from {@code inputs} by op {@code name}. The backward
     * function returns one gradient per input (null for inputs that need none, or for null inputs).
     * Returns out for chaining. Does nothing when no input requires grad or recording is off.
     */
    public static Tensor record(String name, Tensor out, Tensor[] inputs, Node.Backward backward) {
        if (!needsGrad(inputs)) return out;
        Node[] next = new Node[inputs.length];
        for (int i = 0; i < inputs.length; i++) next[i] = inputs[i] == null ? null : inputs[i].gradNode();
        out.setGradFn(Node.op(name, next, backward));
        return out;
    }

    /** Whether input i of an op needs its gradient computed (saves work in backward functions). */
    public static boolean wants(Tensor input) {
        return input != null && input.requiresGrad();
    }

    /**
     * Runs the backward pass from root. gradient null means 1 (root must then have one element).
     * Gradients of leaves are accumulated into {@link Tensor#grad()}; the graph is released as it goes.
     */
    public static void backward(Tensor root, Tensor gradient) {
        Node start = root.gradNode();
        if (start == null) throw new IllegalStateException("backward() on a tensor that does not require grad");
        if (gradient == null) {
            if (root.numel() != 1)
                throw new IllegalStateException("backward() without a gradient needs a scalar, got " + Shapes.str(root.shape()));
            gradient = Tensor.ones(root.device(), root.shape());
        } else if (!Shapes.same(gradient.shape(), root.shape())) {
            throw new IllegalArgumentException("gradient " + Shapes.str(gradient.shape()) + " for " + Shapes.str(root.shape()));
        }
        List<Node> order = topologicalOrder(start);
        Map<Node, Tensor> grads = new IdentityHashMap<>();
        grads.put(start, gradient);
        try (Scope s = noGrad()) {
            for (Node node : order) {
                Tensor g = grads.remove(node);
                if (g == null) continue;
                if (node.leaf != null) {
                    accumulateLeaf(node.leaf, g);
                    continue;
                }
                if (node.fn == null)
                    throw new IllegalStateException("backward through " + node.name + " a second time: its saved tensors were released");
                Tensor[] inGrads = node.fn.apply(g);
                node.fn = null; // release what the op saved
                for (int i = 0; i < node.next.length; i++) {
                    Node n = node.next[i];
                    if (n == null || i >= inGrads.length || inGrads[i] == null) continue;
                    Tensor prev = grads.get(n);
                    grads.put(n, prev == null ? inGrads[i] : addNew(prev, inGrads[i]));
                }
            }
        }
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        if (!Shapes.same(g.shape(), leaf.shape()))
            throw new IllegalStateException("gradient " + Shapes.str(g.shape()) + " for leaf " + Shapes.str(leaf.shape()));
        Tensor cur = leaf.grad();
        if (cur == null) {
            // Own a private copy: backward functions may hand the same tensor to several inputs.
            Tensor copy = MemoryScope.untrack(Tensor.empty(leaf.device(), leaf.shape()));
            copy.copyFrom(g);
            leaf.setOwnedGrad(copy);
        } else {
            leaf.backend().binary(BinaryOp.ADD, cur, g, cur);
        }
    }

    private static Tensor addNew(Tensor a, Tensor b) {
        if (!Shapes.same(a.shape(), b.shape()))
            throw new IllegalStateException("gradients of one tensor disagree in shape: " + Shapes.str(a.shape()) + " vs " + Shapes.str(b.shape()));
        Tensor out = Tensor.empty(a.device(), a.shape());
        a.backend().binary(BinaryOp.ADD, a, b, out);
        return out;
    }

    /** Nodes reachable from start, each after every node that feeds it a gradient (iterative DFS). */
    static List<Node> topologicalOrder(Node start) {
        List<Node> post = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[]{start, 0});
        seen.put(start, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (Integer) top[1];
            if (i < n.next.length) {
                top[1] = i + 1;
                Node c = n.next[i];
                if (c != null && seen.put(c, Boolean.TRUE) == null) stack.push(new Object[]{c, 0});
            } else {
                stack.pop();
                post.add(n);
            }
        }
        java.util.Collections.reverse(post);
        return post;
    }
}
