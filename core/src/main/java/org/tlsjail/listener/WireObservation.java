package org.tlsjail.listener;

/**
 * What tlsjail itself saw on the wire of one connection, independent of the TLS engine: the
 * typed signals failure classification relies on (EOF and errors on our own reads, whether the
 * server got as far as sending handshake records, whether a TLS 1.2 client sent an empty
 * Certificate message). Written by the handshake thread only; read after the handshake ended.
 */
final class WireObservation {
    volatile boolean eof;
    volatile boolean readError;
    volatile boolean writeError;
    volatile boolean serverSentHandshake;
    volatile boolean clientSentEmptyCertificate;

    /** Record types started by the write being scanned now (bit per type 20..23); handshake thread only. */
    int typesInCurrentWrite;
    /** The server has sent an encrypted record (TLS 1.3: its flight after ServerHello); handshake thread only. */
    boolean serverSentEncrypted;

    /** Scans server->client records; notes a handshake record (ServerHello...). */
    final RecordScanner outbound = new RecordScanner() {
        @Override
        void onRecordStart(int type) {
            if (type == 22) {
                serverSentHandshake = true;
            }
            if (type == 23) {
                serverSentEncrypted = true;
            }
            if (type >= 20 && type <= 23) {
                typesInCurrentWrite |= 1 << (type - 20);
            }
        }
    };

    /**
     * Scans client->server records; walks plaintext handshake messages until the client's
     * ChangeCipherSpec (TLS 1.2: the client Certificate message is in the clear; in TLS 1.3 it is
     * encrypted, but there BC reports the case with its own alert 116).
     */
    final RecordScanner inbound = new RecordScanner() {
        private boolean encrypted;
        private int headerFill;
        private int msgType;
        private int msgLen;
        private int skip;

        @Override
        void onRecordStart(int type) {
            if (type == 20) {
                encrypted = true;
            }
        }

        @Override
        void onPayload(int type, byte[] b, int off, int len) {
            if (type != 22 || encrypted) {
                return;
            }
            for (int i = off; i < off + len; i++) {
                if (skip > 0) {
                    int n = Math.min(skip, off + len - i);
                    skip -= n;
                    i += n - 1;
                    continue;
                }
                int v = b[i] & 0xFF;
                switch (headerFill) {
                    case 0 -> msgType = v;
                    case 1 -> msgLen = v << 16;
                    case 2 -> msgLen |= v << 8;
                    default -> msgLen |= v;
                }
                if (++headerFill == 4) {
                    headerFill = 0;
                    if (msgType == 11 && msgLen == 3) {
                        clientSentEmptyCertificate = true;
                    }
                    skip = msgLen;
                }
            }
        }
    };

    /** A streaming TLS record header parser: tolerates records split across reads and writes. */
    abstract static class RecordScanner {
        private int headerFill;
        private final int[] header = new int[5];
        private int remaining;
        private int type;

        void onRecordStart(int type) {
        }

        void onPayload(int type, byte[] b, int off, int len) {
        }

        final void scan(byte[] b, int off, int len) {
            int i = off;
            int end = off + len;
            while (i < end) {
                if (remaining > 0) {
                    int n = Math.min(remaining, end - i);
                    onPayload(type, b, i, n);
                    remaining -= n;
                    i += n;
                    continue;
                }
                header[headerFill++] = b[i++] & 0xFF;
                if (headerFill == 5) {
                    headerFill = 0;
                    type = header[0];
                    remaining = (header[3] << 8) | header[4];
                    onRecordStart(type);
                }
            }
        }
    }
}
