package org.tlsjail.bench.engine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;
import org.tlsjail.banengine.BanListener;
import org.tlsjail.banengine.BanRecord;

/**
 * The journal as it was before group commit, kept only as the benchmark's baseline: the same
 * line format, written and forced to disk inside the listener call, i.e. under the engine's
 * lock, one fsync per ban.
 */
final class InlineFsyncJournal implements BanListener, Closeable {
    private final FileChannel out;

    InlineFsyncJournal(Path file) throws IOException {
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    @Override
    public synchronized void onBan(BanRecord ban) {
        append("B " + ban.key() + " " + ban.since().toEpochMilli() + " "
                + (ban.isPermanent() ? -1 : ban.until().toEpochMilli()) + " " + ban.banCount() + " bench");
    }

    @Override
    public synchronized void onUnban(BanRecord ban, UnbanCause cause) {
        append("U " + ban.key() + " " + System.currentTimeMillis());
    }

    private void append(String body) {
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.US_ASCII));
        ByteBuffer buf = ByteBuffer.wrap((body + " #" + String.format("%08x", crc.getValue()) + "\n")
                .getBytes(StandardCharsets.US_ASCII));
        try {
            while (buf.hasRemaining()) {
                out.write(buf);
            }
            out.force(false);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
