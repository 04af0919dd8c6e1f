package org.tlsjail.daemon;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.time.InstantSource;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.config.TlsjailConfig;

/**
 * Everything facing the network and the Fail2Ban log: TLS material, the listener, the log writer,
 * the accepted-connection handler (forward or demo greeter). Placeholder until the listener lands.
 */
final class TlsFront implements AutoCloseable {
    private final ServerSocket socket;

    private TlsFront(ServerSocket socket) {
        this.socket = socket;
    }

    static TlsFront open(TlsjailConfig config, StateDirectory state, BanEngine engine, InstantSource clock)
            throws StartupException {
        try {
            ServerSocket s = new ServerSocket();
            s.bind(config.listen().socketAddress());
            return new TlsFront(s);
        } catch (IOException e) {
            throw new StartupException("cannot listen on " + config.listen().socketAddress() + ": " + e.getMessage(), e);
        }
    }

    int port() {
        return socket.getLocalPort();
    }

    /** A reload's new front-side settings, loaded and checked but not yet in force. */
    interface Prepared {
        void commit();
    }

    Prepared prepare(TlsjailConfig next) throws StartupException {
        return () -> { };
    }

    void reopenLog() throws IOException {
    }

    void appendStatus(StringBuilder sb) {
    }

    void printWelcome(PrintStream out) {
        out.println("tlsjail is running on port " + port());
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
