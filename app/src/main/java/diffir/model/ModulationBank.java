package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;
import diffir.engine.ops.Ops;

/**
 * The modulation weights of every DIRformer block ({@code attn.kernel.0.weight} and {@code ffn.kernel.0.weight},
 * each (2C, ipr)) stored as consecutive row blocks of one (total, ipr) tensor, so that one matrix
 * product per forward gives every block its [k1 | k2]: IPR x W_all^T, instead of one small GEMM per
 * block (two per block, 76 for the GoPro model). Each block's weight is a view of its rows: loading a
 * state dict or an optimizer step writes straight into the packed tensor, so it is never stale.
 *
 * <p>Each block's slice of the product is recorded for autograd as that block's own linear map of
 * the IPR, so the gradients (g^T IPR for the weight, g W for the IPR) and the parameter names are
 * those of the per-block layers.
 */
final class ModulationBank {
    private final Tensor all;
    private final int iprDim;
    private int rowsTaken;

    /** A bank for {@code totalRows} rows of modulation weights of width {@code iprDim}, on the Init's device. */
    ModulationBank(Init init, int totalRows, int iprDim) {
        this.all = Tensor.empty(init.device(), totalRows, iprDim);
        this.iprDim = iprDim;
    }

    /** Rows the DIRformer of cfg needs: 2 x 2C per block (attention and feed-forward). */
    static int rowsFor(ArchConfig cfg) {
        int rows = 0;
        int[][] runs = DIRformer.blockRuns(cfg);
        for (int[] run : runs) rows += run[0] * 4 * cfg.levelChannels(run[1]);
        return rows;
    }

    /**
     * The next (rows, ipr) weight: its values drawn as nn.Linear(ipr, rows, bias=False) draws them
     * (kaiming uniform, a = sqrt(5)), stored in the bank, and returned as a view of the bank.
     */
    Slot take(Init init, int rows) {
        if (rowsTaken + rows > all.dim(0))
            throw new IllegalStateException("modulation bank of " + all.dim(0) + " rows is full (asked for " + rows + " more after "
                    + rowsTaken + ")");
        Tensor values = init.kaimingUniform(iprDim, Math.sqrt(5), rows, iprDim);
        Tensor view = all.narrowView(rowsTaken, rows);
        view.copyFrom(values);
        Slot s = new Slot(this, rowsTaken, rows, view);
        rowsTaken += rows;
        return s;
    }

    /** Every block's modulation for this IPR (N, ipr): one matrix product, no graph (each slice records its own). */
    Modulations compute(Tensor ipr) {
        if (rowsTaken != all.dim(0))
            throw new IllegalStateException("modulation bank filled " + rowsTaken + " of its " + all.dim(0) + " rows");
        if (ipr.rank() != 2 || ipr.dim(1) != iprDim)
            throw new IllegalArgumentException("modulations need an IPR (N, " + iprDim + "), got " + Shapes.str(ipr.shape()));
        Tensor m;
        try (var s = Autograd.noGrad()) {
            m = Ops.matmul(ipr, all, false, true);
        }
        return new Modulations(this, ipr, m);
    }

    /** One block's weight: rows [offset, offset + rows) of the bank. */
    record Slot(ModulationBank bank, int offset, int rows, Tensor weight) {}

    /** The product of one forward, handing each block its slice. */
    record Modulations(ModulationBank bank, Tensor ipr, Tensor all) {
        /** [k1 | k2] (N, rows) of a slot: a view of the product for one image, a copy for several. */
        Tensor of(Slot slot) {
            if (slot.bank() != bank) throw new IllegalArgumentException("modulation slot of another bank");
            Tensor value;
            try (var s = Autograd.noGrad()) {
                value = Ops.narrow(all, 1, slot.offset(), slot.rows());
            }
            Tensor w = slot.weight();
            return Autograd.record("modulation", value, new Tensor[]{ipr, w}, g -> new Tensor[]{
                    Autograd.wants(ipr) ? Ops.matmul(g, w) : null,                // dL/dIPR = g W
                    Autograd.wants(w) ? Ops.matmul(g, ipr, true, false) : null}); // dL/dW = g^T IPR
        }
    }

    /** The Sequential-like holder "kernel" with the weight as child "0": the reference's keys kernel.0.weight. */
    static final class Kernel extends Module {
        private final Slot slot;

        Kernel(Slot slot) {
            this.slot = slot;
            child("0", new Weight(slot.weight()));
        }

        Slot slot() {
            return slot;
        }
    }

    /** nn.Linear(ipr, 2C, bias=False)'s parameters: its weight only. */
    static final class Weight extends Module {
        Weight(Tensor weight) {
            param("weight", weight);
        }
    }
}
