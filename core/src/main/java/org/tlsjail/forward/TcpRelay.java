package org.tlsjail.forward;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.config.ForwardSection;

/**
 * stunnel-style relay of one accepted TLS connection to the plain-TCP backend: both directions
 * copied by their own thread, a half-close passed on (client EOF becomes a FIN to the backend and
 * the reverse), and a watchdog that closes both sides after {@code idle-timeout} without a byte
 * in either direction.
 */
public final class TcpRelay {
    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

    private final ForwardSection forward;
    private final ExecutorService copiers;
    private final ScheduledExecutorService watchdog;
    private final RelayLimits counters;

    public TcpRelay(ForwardSection forward, ExecutorService copiers, ScheduledExecutorService watchdog, RelayLimits counters) {
        this.forward = forward;
        this.copiers = copiers;
        this.watchdog = watchdog;
        this.counters = counters;
    }

    /** Relays until both directions end; the caller's thread copies client to backend. */
    public void relay(Socket client, InetSocketAddress clientAddress) {
        Socket backend = new Socket();
        try {
            backend.setTcpNoDelay(true);
            backend.connect(new InetSocketAddress(forward.host(), forward.port()),
                    (int) Math.min(Integer.MAX_VALUE, forward.connectTimeout().toMillis()));
        } catch (IOException e) {
            counters.connectFailed();
            LOG.warn("forward: cannot connect to backend {} for {}: {}", forward.target(), clientAddress, e.toString());
            closeQuietly(backend);
            closeQuietly(client);
            return;
        }
        AtomicLong lastActivity = new AtomicLong(System.nanoTime());
        AtomicInteger open = new AtomicInteger(2);
        Runnable closeBoth = () -> {
            closeQuietly(client);
            closeQuietly(backend);
        };
        long idleNanos = forward.idleTimeout().toNanos();
        long period = Math.max(250, Math.min(forward.idleTimeout().toMillis() / 4, 5_000));
        ScheduledFuture<?> idleCheck = watchdog.scheduleAtFixedRate(() -> {
            if (System.nanoTime() - lastActivity.get() >= idleNanos) {
                LOG.debug("forward: {} idle for {}, closing", clientAddress, forward.idleTimeout());
                closeBoth.run();
            }
        }, period, period, TimeUnit.MILLISECONDS);
        try {
            OutputStream toBackend = backend.getOutputStream();
            switch (forward.proxyProtocol()) {
                case V1 -> toBackend.write(ProxyProtocolHeader.v1(clientAddress, localOf(client)));
                case V2 -> toBackend.write(ProxyProtocolHeader.v2(clientAddress, localOf(client)));
                default -> { }
            }
            toBackend.flush();
            Runnable done = () -> {
                if (open.decrementAndGet() == 0) {
                    idleCheck.cancel(false);
                    closeBoth.run();
                }
            };
            copiers.execute(() -> {
                try {
                    copy(backend.getInputStream(), client.getOutputStream(), lastActivity, counters.bytesToClient);
                    shutdownOutput(client);
                } catch (IOException e) {
                    closeBoth.run();
                } finally {
                    done.run();
                }
            });
            try {
                copy(client.getInputStream(), toBackend, lastActivity, counters.bytesToBackend);
                shutdownOutput(backend);
            } catch (IOException e) {
                closeBoth.run();
            } finally {
                done.run();
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("forward: {} ended: {}", clientAddress, e.toString());
            idleCheck.cancel(false);
            closeBoth.run();
        }
    }

    private static InetSocketAddress localOf(Socket s) {
        return (InetSocketAddress) s.getLocalSocketAddress();
    }

    /**
     * Copies with one 16 kB buffer and blocking writes: a peer that does not read stops this thread
     * (and its sender, through TCP flow control) instead of letting data pile up in memory.
     */
    private static void copy(InputStream in, OutputStream out, AtomicLong lastActivity,
                             java.util.concurrent.atomic.LongAdder bytes) throws IOException {
        byte[] buf = new byte[16 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) {
            if (n > 0) {
                out.write(buf, 0, n);
                out.flush();
                bytes.add(n);
                lastActivity.set(System.nanoTime());
            }
        }
    }

    /** Passes an EOF on; a TLS socket that cannot half-close (close_notify) is closed instead. */
    private static void shutdownOutput(Socket s) {
        try {
            s.shutdownOutput();
        } catch (IOException | UnsupportedOperationException e) {
            closeQuietly(s);
        }
    }

    public static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

}
