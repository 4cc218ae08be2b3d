package diffir.data;

import diffir.image.Image;
import diffir.image.ImageFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoded RGB images kept in memory up to a budget of float values, least recently used dropped
 * first, so small training sets are decoded once. Thread-safe; an image larger than the budget is
 * returned without being kept.
 */
public final class ImageCache {
    private final long maxValues;
    private long values;
    private final LinkedHashMap<Path, Image> map = new LinkedHashMap<>(16, 0.75f, true);

    /** A cache holding up to maxValues floats (4 bytes each); 0 disables caching. */
    public ImageCache(long maxValues) {
        if (maxValues < 0) throw new IllegalArgumentException("cache size must be >= 0, got " + maxValues);
        this.maxValues = maxValues;
    }

    /** The image as RGB (gray repeated, alpha dropped). */
    public Image rgb(Path file) throws IOException {
        synchronized (this) {
            Image hit = map.get(file);
            if (hit != null) return hit;
        }
        Image img = ImageFiles.readRgb(file); // decode outside the lock; a rare double decode is harmless
        long n = img.data().length;
        if (n > maxValues) return img;
        synchronized (this) {
            Image earlier = map.putIfAbsent(file, img);
            if (earlier != null) return earlier;
            values += n;
            var it = map.entrySet().iterator();
            while (values > maxValues && it.hasNext()) {
                Map.Entry<Path, Image> e = it.next();
                if (e.getKey().equals(file)) continue;
                values -= e.getValue().data().length;
                it.remove();
            }
            return img;
        }
    }
}
