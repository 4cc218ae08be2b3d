package diffir.data;

/** Checks shared by the pair sources. */
final class Patches {
    private Patches() {}

    static void requirePatch(int patch, int scale) {
        if (patch <= 0 || patch % scale != 0)
            throw new IllegalArgumentException("patch size " + patch + " must be a positive multiple of the scale " + scale);
    }
}
