import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Build step of the Debian package: {@code java GzipBest.java IN OUT} writes what {@code gzip -9n}
 * writes (best compression, flagged as such in the header; no name, no time stamp: reproducible).
 * java.util.zip.GZIPOutputStream cannot set the header's "max compression" flag that Debian's
 * lintian looks for in /usr/share/doc/PACKAGE/changelog.gz.
 */
public final class GzipBest {
    public static void main(String[] args) throws IOException {
        byte[] in = Files.readAllBytes(Path.of(args[0]));
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
        deflater.setInput(in);
        deflater.finish();
        CRC32 crc = new CRC32();
        crc.update(in);
        try (OutputStream out = Files.newOutputStream(Path.of(args[1]))) {
            // magic, deflate, no flags, mtime 0, XFL 2 = maximum compression, OS 3 = Unix
            out.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 2, 3});
            byte[] buf = new byte[8192];
            while (!deflater.finished()) {
                out.write(buf, 0, deflater.deflate(buf));
            }
            writeLe32(out, crc.getValue());
            writeLe32(out, in.length);
        }
    }

    private static void writeLe32(OutputStream out, long v) throws IOException {
        for (int i = 0; i < 4; i++) {
            out.write((int) (v >>> (8 * i)) & 0xff);
        }
    }
}
