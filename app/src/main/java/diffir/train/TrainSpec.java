package diffir.train;

import diffir.data.Task;
import diffir.engine.io.Json;
import diffir.model.ArchConfig;
import diffir.model.ArchTask;
import diffir.model.Stage;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything that decides what a training run computes. Stored in its checkpoints, so a resumed run
 * checks it continues the same run. For S2 the architecture is the S1 checkpoint's.
 *
 * @param task         the degradation task of the data
 * @param stage        S1 (pretraining) or S2 (diffusion)
 * @param data         training images: a folder of clean images (synthetic degradation) or a folder with lq/ and gt/
 * @param val          validation images in the same layout, or null to validate on the training images' centre crops
 * @param arch         the network (S1: built from flags; S2: the S1 checkpoint's)
 * @param steps        total iterations (S2: encoder stage included)
 * @param batch        patches per iteration
 * @param patch        ground-truth patch side
 * @param lr           base learning rate
 * @param seed         seed of the initial weights, the data stream and the diffusion noise
 * @param s1           S2 only: the frozen S1 checkpoint
 * @param encoderSteps S2 only: iterations of the encoder stage (CPEN_S2 + denoise) before the joint stage
 * @param emaDecay     weight EMA decay per iteration (0.999 as in the reference)
 * @param valCrop      side of the centred validation crop (0: whole images)
 * @param maxBlur      deblurring: largest camera-shake kernel in pixels (7..31; 0 for the task's 31)
 * @param clipGrad     largest global gradient 2-norm before an update (0: no clipping, as the reference)
 */
public record TrainSpec(Task task, Stage stage, Path data, Path val, ArchConfig arch, long steps, int batch, int patch,
                        double lr, long seed, Path s1, long encoderSteps, double emaDecay, int valCrop,
                        int maxBlur, double clipGrad) {

    public TrainSpec {
        Objects.requireNonNull(task, "task");
        Objects.requireNonNull(stage, "stage");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(arch, "arch");
        List<String> bad = new ArrayList<>();
        if (steps < 1) bad.add("--steps must be >= 1, got " + steps);
        if (batch < 1) bad.add("--batch must be >= 1, got " + batch);
        if (patch < 1) bad.add("--patch must be >= 1, got " + patch);
        if (!(lr > 0) || Double.isInfinite(lr)) bad.add("--lr must be a positive number, got " + lr);
        if (!(emaDecay >= 0 && emaDecay < 1)) bad.add("--ema must be in [0, 1), got " + emaDecay);
        if (maxBlur != 0 && (task != Task.DEBLUR || maxBlur < 7 || maxBlur > 31))
            bad.add("--max-blur is for --task deblur, from 7 to 31 pixels; got " + maxBlur);
        if (!(clipGrad >= 0) || Double.isInfinite(clipGrad)) bad.add("--clip-grad must be >= 0, got " + clipGrad);
        if (valCrop < 0) bad.add("--val-crop must be >= 0, got " + valCrop);
        if (stage == Stage.S2 && s1 == null) bad.add("--stage s2 needs --s1 CKPT, the trained S1 network");
        if (stage == Stage.S1 && s1 != null) bad.add("--s1 is for --stage s2 only");
        if (stage == Stage.S2 && (encoderSteps < 0 || encoderSteps > steps))
            bad.add("--encoder-steps must be in [0, --steps] = [0, " + steps + "], got " + encoderSteps);
        if (!bad.isEmpty()) throw new IllegalArgumentException(String.join("; ", bad));
        boolean fits = switch (task) {
            case DEBLUR -> arch.task() == ArchTask.DEBLUR;
            case SR2, SR4 -> arch.task() == ArchTask.SR && arch.scale() == task.scale();
            case INPAINT -> arch.task() == ArchTask.INPAINT;
        };
        if (!fits)
            throw new IllegalArgumentException("--task " + task.id() + " does not fit a " + arch.task().key()
                    + (arch.task() == ArchTask.SR ? " x" + arch.scale() : "") + " network");
        int s = task.scale(), w = arch.window();
        if (patch % s != 0 || (patch / s) % w != 0)
            throw new IllegalArgumentException("--patch " + patch + " gives " + (patch / s) + "-pixel inputs; they must be multiples of "
                    + w + (s > 1 ? " (so --patch a multiple of " + w * s + ")" : ""));
        if (valCrop > 0 && valCrop % s != 0)
            throw new IllegalArgumentException("--val-crop " + valCrop + " must be a multiple of the scale " + s);
    }

    /** Whether iteration it (1-based) is in S2's encoder stage. */
    public boolean encoderStage(long it) {
        return stage == Stage.S2 && it <= encoderSteps;
    }

    /** The fields as a JSON object (paths absolute), as stored in checkpoints. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task.id());
        m.put("stage", stage.name());
        m.put("data", data.toAbsolutePath().normalize().toString());
        m.put("val", val == null ? "" : val.toAbsolutePath().normalize().toString());
        m.put("arch", arch.toJson());
        m.put("steps", steps);
        m.put("batch", (long) batch);
        m.put("patch", (long) patch);
        m.put("lr", lr);
        m.put("seed", seed);
        m.put("s1", s1 == null ? "" : s1.toAbsolutePath().normalize().toString());
        m.put("encoder_steps", encoderSteps);
        m.put("ema_decay", emaDecay);
        m.put("val_crop", (long) valCrop);
        m.put("max_blur", (long) maxBlur);
        m.put("clip_grad", clipGrad);
        return Json.write(m);
    }

    public static TrainSpec fromJson(String json) {
        if (!(Json.parse(json) instanceof Map<?, ?> m)) throw new IllegalArgumentException("training spec is not a JSON object");
        String val = str(m, "val"), s1 = str(m, "s1");
        return new TrainSpec(Task.parse(str(m, "task")), Stage.fromKey(str(m, "stage")), Path.of(str(m, "data")),
                val.isEmpty() ? null : Path.of(val), ArchConfig.fromJson(str(m, "arch")), num(m, "steps").longValue(),
                num(m, "batch").intValue(), num(m, "patch").intValue(), num(m, "lr").doubleValue(), num(m, "seed").longValue(),
                s1.isEmpty() ? null : Path.of(s1), num(m, "encoder_steps").longValue(), num(m, "ema_decay").doubleValue(),
                num(m, "val_crop").intValue(), num(m, "max_blur").intValue(), num(m, "clip_grad").doubleValue());
    }

    /** The same run continued to a different total step count. */
    public TrainSpec withSteps(long newSteps) {
        return new TrainSpec(task, stage, data, val, arch, newSteps, batch, patch, lr, seed, s1,
                Math.min(encoderSteps, newSteps), emaDecay, valCrop, maxBlur, clipGrad);
    }

    /** The same run with another encoder-stage length. */
    public TrainSpec withEncoderSteps(long n) {
        return new TrainSpec(task, stage, data, val, arch, steps, batch, patch, lr, seed, s1, n, emaDecay, valCrop, maxBlur, clipGrad);
    }

    /** Names of the fields in which other differs from this one (as stored: paths absolute). */
    public List<String> differences(TrainSpec other) {
        Map<?, ?> a = (Map<?, ?>) Json.parse(toJson()), b = (Map<?, ?>) Json.parse(other.toJson());
        List<String> out = new ArrayList<>();
        for (Object k : a.keySet()) if (!Objects.equals(a.get(k), b.get(k))) out.add(k + " (" + a.get(k) + " vs " + b.get(k) + ")");
        return out;
    }

    private static String str(Map<?, ?> m, String k) {
        if (!(m.get(k) instanceof String s)) throw new IllegalArgumentException("training spec lacks \"" + k + "\"");
        return s;
    }

    private static Number num(Map<?, ?> m, String k) {
        if (!(m.get(k) instanceof Number n)) throw new IllegalArgumentException("training spec lacks \"" + k + "\"");
        return n;
    }
}
