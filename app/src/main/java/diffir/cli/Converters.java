package diffir.cli;

import diffir.data.Task;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;

/** picocli converters whose errors say what is accepted. */
final class Converters {
    private Converters() {}

    static final class TaskConverter implements CommandLine.ITypeConverter<Task> {
        @Override
        public Task convert(String value) {
            try {
                return Task.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** "1,1,1,1": exactly four positive integers. */
    static final class FourInts implements CommandLine.ITypeConverter<List<Integer>> {
        @Override
        public List<Integer> convert(String value) {
            String[] parts = value.split(",");
            List<Integer> out = new ArrayList<>();
            try {
                for (String p : parts) out.add(Integer.parseInt(p.strip()));
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a list of four integers like 1,1,1,1");
            }
            if (out.size() != 4 || out.stream().anyMatch(v -> v < 1))
                throw new CommandLine.TypeConversionException("'" + value + "' must be four positive integers like 1,1,1,1");
            return out;
        }
    }

    /** An image size. */
    record HeightWidth(int height, int width) {}

    /** "HxW" or "N" (square). */
    static final class Size implements CommandLine.ITypeConverter<HeightWidth> {
        @Override
        public HeightWidth convert(String value) {
            String[] p = value.toLowerCase().split("x");
            try {
                int h = Integer.parseInt(p[0].strip()), w = p.length == 1 ? h : Integer.parseInt(p[1].strip());
                if (p.length > 2 || h <= 0 || w <= 0) throw new NumberFormatException();
                return new HeightWidth(h, w);
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not a size like 256x256");
            }
        }
    }
}
