package diffir.data;

import diffir.image.Kernel;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class BlurKernelsTest {

    @Test
    void motionKernelsAreNormalisedNonNegativeAndVaried() {
        int minSeen = Integer.MAX_VALUE, maxSeen = 0, spreadOut = 0;
        for (int seed = 0; seed < 300; seed++) {
            Kernel k = BlurKernels.motion(Seeds.rng(seed));
            assertEquals(1, k.size() % 2, "odd size");
            assertTrue(k.size() >= 7 && k.size() <= 31, "size " + k.size());
            assertEquals(1.0, k.sum(), 1e-5, "sum");
            int nonZero = 0;
            for (float w : k.weights()) {
                assertTrue(w >= 0 && Float.isFinite(w), "weight " + w);
                if (w > 0) nonZero++;
            }
            if (nonZero >= k.size()) spreadOut++; // a trajectory, not a dot
            minSeen = Math.min(minSeen, k.size());
            maxSeen = Math.max(maxSeen, k.size());
            // Nothing on the outermost ring: the trajectory is kept inside the support.
            for (int i = 0; i < k.size(); i++) {
                assertEquals(0f, k.at(0, i));
                assertEquals(0f, k.at(i, k.size() - 1));
            }
        }
        assertTrue(minSeen <= 9 && maxSeen >= 29, "sizes seen " + minSeen + ".." + maxSeen);
        assertTrue(spreadOut > 290, spreadOut + " of 300 kernels are spread out");
    }

    @Test
    void motionKernelsAreDeterministicPerSeed() {
        Kernel a = BlurKernels.motion(Seeds.rng(42, 7)), b = BlurKernels.motion(Seeds.rng(42, 7)), c = BlurKernels.motion(Seeds.rng(42, 8));
        assertEquals(a.size(), b.size());
        assertArrayEquals(a.weights(), b.weights());
        assertFalse(a.size() == c.size() && java.util.Arrays.equals(a.weights(), c.weights()));
        Kernel small = BlurKernels.motion(new SplittableRandom(1), 7, 7);
        assertEquals(7, small.size());
        assertThrows(IllegalArgumentException.class, () -> BlurKernels.motion(new SplittableRandom(1), 8, 8));
    }

    /** Second moments of the kernel match the requested covariance R diag(sx^2, sy^2) R^T. */
    @Test
    void gaussianHasTheRequestedCovariance() {
        double[][] cases = {{2, 1, 0}, {2, 1, Math.PI / 2}, {2.5, 1, Math.PI / 4}, {1.5, 1.5, 0.3}};
        for (double[] c : cases) {
            Kernel k = BlurKernels.gaussian(31, c[0], c[1], c[2]);
            assertEquals(1.0, k.sum(), 1e-5);
            double[] m = moments(k);
            double cs = Math.cos(c[2]), sn = Math.sin(c[2]), vx = c[0] * c[0], vy = c[1] * c[1];
            double exx = cs * cs * vx + sn * sn * vy, eyy = sn * sn * vx + cs * cs * vy, exy = cs * sn * (vx - vy);
            String what = "sigmas " + c[0] + ", " + c[1] + " theta " + c[2];
            assertEquals(exx, m[0], 2e-3 * vx, what + " var x");
            assertEquals(eyy, m[1], 2e-3 * vx, what + " var y");
            assertEquals(exy, m[2], 2e-3 * vx, what + " cov xy");
            assertEquals(0, m[3], 1e-6, what + " mean x");
        }
        assertThrows(IllegalArgumentException.class, () -> BlurKernels.gaussian(8, 1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> BlurKernels.gaussian(7, 0, 1, 0));
    }

    @Test
    void randomGaussiansStayInRange() {
        for (int seed = 0; seed < 50; seed++) {
            Kernel k = BlurKernels.randomGaussian(Seeds.rng(seed), 0.2, 3);
            assertTrue(k.size() >= 7 && k.size() <= 21 && k.size() % 2 == 1);
            assertEquals(1.0, k.sum(), 1e-5);
        }
    }

    /** {var x, var y, cov xy, mean x} with x the column offset from the centre. */
    private static double[] moments(Kernel k) {
        int r = k.radius();
        double xx = 0, yy = 0, xy = 0, mx = 0;
        for (int i = 0; i < k.size(); i++)
            for (int j = 0; j < k.size(); j++) {
                double w = k.at(i, j), x = j - r, y = i - r;
                xx += w * x * x;
                yy += w * y * y;
                xy += w * x * y;
                mx += w * x;
            }
        return new double[]{xx, yy, xy, mx};
    }
}
