package org.tlsjail.listener;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;

/**
 * An accepted socket seen through tlsjail's own streams, handed to Bouncy Castle's
 * {@code SSLSocketFactory.createSocket(Socket, InputStream, boolean)} in place of the real one.
 * Every byte BC reads or writes passes {@link WireObservation}, so EOF, resets and the record
 * flow are observed by our own code instead of being guessed from BC's exceptions. All socket
 * methods BC 1.84's ProvSSLSocketWrap calls are delegated.
 */
final class ObservedSocket extends Socket {
    private static final long NOT_READING = Long.MIN_VALUE;
    private final Socket raw;
    private final WireObservation wire;
    private final InputStream in;
    private final OutputStream out;
    /**
     * The server's verdict, held back: what the server writes once it has judged the client (an
     * alert; in TLS 1.3 anything after its own flight) stays here until tlsjail has counted the
     * outcome, so a client that fails cannot reconnect before its failure (and ban) is recorded.
     */
    private final java.io.ByteArrayOutputStream verdict = new java.io.ByteArrayOutputStream();
    private boolean holding;
    private boolean released;
    private boolean closeRequested;
    /**
     * The client's own time: nanoseconds the server spent blocked waiting for its bytes (from the
     * gate, then every read until release). A handshake is the client's timeout only when this
     * reaches {@link #budgetNanos}; time the server spent elsewhere (no thread, no CPU) is not
     * the client's.
     */
    private volatile long clientWaitNanos;
    /** The ticker at the start of the read in progress, or {@link #NOT_READING} (any other value is a ticker's). */
    private volatile long readingSince = NOT_READING;
    private final long budgetNanos;
    /** The listener's monotonic ticker: the client's time is measured on it (the socket timeout stays real). */
    private final java.util.function.LongSupplier ticker;

    ObservedSocket(Socket raw, WireObservation wire) throws IOException {
        this(raw, wire, 0, Long.MAX_VALUE, System::nanoTime);
    }

    ObservedSocket(Socket raw, WireObservation wire, long clientWaitNanos, long budgetNanos,
                   java.util.function.LongSupplier ticker) throws IOException {
        super((SocketImpl) null);
        this.raw = raw;
        this.ticker = ticker;
        this.wire = wire;
        this.clientWaitNanos = clientWaitNanos;
        this.budgetNanos = budgetNanos;
        this.in = new ObservedInput(raw.getInputStream());
        this.out = new ObservedOutput(raw.getOutputStream());
    }

    Socket raw() {
        return raw;
    }

    private final class ObservedInput extends FilterInputStream {
        ObservedInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (!released && wire.serverSentEncrypted) {
                holding = true; // TLS 1.3: the server's flight is out; what it writes next is its verdict
            }
            boolean budgeted = !released && budgetNanos != Long.MAX_VALUE;
            if (budgeted) {
                long left = budgetNanos - clientWaitNanos;
                if (left <= 0) {
                    throw new SocketTimeoutException("the client used up its handshake time");
                }
                raw.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000)));
            }
            int n;
            long t0 = ticker.getAsLong();
            readingSince = t0;
            try {
                n = super.read(b, off, len);
            } catch (SocketTimeoutException e) {
                throw e;
            } catch (IOException e) {
                wire.readError = true;
                throw e;
            } finally {
                readingSince = NOT_READING;
                if (budgeted) {
                    clientWaitNanos += ticker.getAsLong() - t0;
                }
            }
            if (n < 0) {
                wire.eof = true;
            } else {
                wire.inbound.scan(b, off, n);
            }
            return n;
        }
    }

    private final class ObservedOutput extends FilterOutputStream {
        ObservedOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            wire.typesInCurrentWrite = 0;
            wire.outbound.scan(b, off, len);
            if (!released && (holding || (wire.typesInCurrentWrite & 1 << 1) != 0)) {
                verdict.write(b, off, len); // an alert (type 21), or TLS 1.3 after the server's flight
                return;
            }
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                wire.writeError = true;
                throw e;
            }
        }
    }

    /** Time the server waited on the client so far, a read in progress included. */
    long clientWaitNanos() {
        long since = readingSince;
        return clientWaitNanos + (since == NOT_READING ? 0 : Math.max(0, ticker.getAsLong() - since));
    }

    /** True if the client has used up its handshake time (the timeout is its own doing). */
    boolean clientOutOfTime() {
        return budgetNanos != Long.MAX_VALUE && clientWaitNanos() >= budgetNanos;
    }

    @Override public InputStream getInputStream() { return in; }
    @Override public OutputStream getOutputStream() { return out; }
    /**
     * Sends what was held back (after the outcome was counted) and stops holding; performs a close
     * that was asked for meanwhile. Idempotent.
     */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        holding = false;
        try {
            if (verdict.size() > 0 && !raw.isClosed()) {
                OutputStream o = raw.getOutputStream();
                verdict.writeTo(o);
                o.flush();
            }
        } catch (IOException e) {
            wire.writeError = true;
        }
        if (closeRequested) {
            try {
                raw.close();
            } catch (IOException ignored) {
                // the connection is over either way
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (!released && verdict.size() > 0) {
            closeRequested = true; // BC closes after its alert: close once the alert has gone out
            return;
        }
        raw.close();
    }
    @Override public SocketChannel getChannel() { return raw.getChannel(); }
    @Override public InetAddress getInetAddress() { return raw.getInetAddress(); }
    @Override public InetAddress getLocalAddress() { return raw.getLocalAddress(); }
    @Override public int getLocalPort() { return raw.getLocalPort(); }
    @Override public int getPort() { return raw.getPort(); }
    @Override public SocketAddress getLocalSocketAddress() { return raw.getLocalSocketAddress(); }
    @Override public SocketAddress getRemoteSocketAddress() { return raw.getRemoteSocketAddress(); }
    @Override public boolean getKeepAlive() throws SocketException { return raw.getKeepAlive(); }
    @Override public void setKeepAlive(boolean on) throws SocketException { raw.setKeepAlive(on); }
    @Override public synchronized int getReceiveBufferSize() throws SocketException { return raw.getReceiveBufferSize(); }
    @Override public synchronized void setReceiveBufferSize(int size) throws SocketException { raw.setReceiveBufferSize(size); }
    @Override public synchronized int getSendBufferSize() throws SocketException { return raw.getSendBufferSize(); }
    @Override public synchronized void setSendBufferSize(int size) throws SocketException { raw.setSendBufferSize(size); }
    @Override public boolean getReuseAddress() throws SocketException { return raw.getReuseAddress(); }
    @Override public void setReuseAddress(boolean on) throws SocketException { raw.setReuseAddress(on); }
    @Override public int getSoLinger() throws SocketException { return raw.getSoLinger(); }
    @Override public void setSoLinger(boolean on, int linger) throws SocketException { raw.setSoLinger(on, linger); }
    @Override public synchronized int getSoTimeout() throws SocketException { return raw.getSoTimeout(); }
    @Override public synchronized void setSoTimeout(int timeout) throws SocketException { raw.setSoTimeout(timeout); }
    @Override public boolean getTcpNoDelay() throws SocketException { return raw.getTcpNoDelay(); }
    @Override public void setTcpNoDelay(boolean on) throws SocketException { raw.setTcpNoDelay(on); }
    @Override public int getTrafficClass() throws SocketException { return raw.getTrafficClass(); }
    @Override public void setTrafficClass(int tc) throws SocketException { raw.setTrafficClass(tc); }
    @Override public void setPerformancePreferences(int c, int l, int b) { raw.setPerformancePreferences(c, l, b); }
    @Override public boolean isBound() { return raw.isBound(); }
    @Override public boolean isConnected() { return raw.isConnected(); }
    @Override public boolean isClosed() { return raw.isClosed(); }
    @Override public boolean isInputShutdown() { return raw.isInputShutdown(); }
    @Override public boolean isOutputShutdown() { return raw.isOutputShutdown(); }
    @Override public void shutdownInput() throws IOException { raw.shutdownInput(); }
    @Override public void shutdownOutput() throws IOException { raw.shutdownOutput(); }
    @Override public String toString() { return "observed " + raw; }
}
