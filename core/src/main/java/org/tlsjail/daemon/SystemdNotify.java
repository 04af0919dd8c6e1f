package org.tlsjail.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * systemd's readiness protocol ({@code Type=notify}): one datagram to the unix socket named by
 * {@code $NOTIFY_SOCKET}. Without that variable (not started by systemd) it does nothing. A
 * failure to notify is logged, never fatal: the daemon works, systemd just waits (and times out).
 */
final class SystemdNotify {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotify.class);

    private final String socket;

    SystemdNotify(String notifySocket) {
        this.socket = notifySocket == null || notifySocket.isEmpty() ? null : notifySocket;
    }

    static SystemdNotify fromEnvironment() {
        return new SystemdNotify(System.getenv("NOTIFY_SOCKET"));
    }

    /** Sends {@code READY=1} with a status line; true if a datagram was sent. */
    boolean ready(String status) {
        return send("READY=1\nSTATUS=" + status.replace('\n', ' ') + "\nMAINPID=" + ProcessHandle.current().pid() + "\n");
    }

    /** Sends {@code STOPPING=1}. */
    boolean stopping() {
        return send("STOPPING=1\n");
    }

    private boolean send(String message) {
        if (socket == null) {
            return false;
        }
        // "@name" is Linux's abstract namespace: the name starts with a NUL byte
        String path = socket.startsWith("@") ? "\0" + socket.substring(1) : socket;
        try (UnixDatagramChannel ch = UnixDatagramChannel.open()) {
            ch.send(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)), new UnixSocketAddress(path));
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot notify systemd at NOTIFY_SOCKET={}: {}", socket, e.toString());
            return false;
        }
    }
}
