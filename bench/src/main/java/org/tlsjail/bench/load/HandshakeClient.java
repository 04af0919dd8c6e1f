package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * One TLS client attempt at a time: connect from a given source, full handshake (no
 * resumption), send {@code ping\n}, wait for any reply. With a client certificate this is the
 * legitimate partner; without one it is the scanner whose handshake fails. It tells apart a
 * connection refused before any TLS work (no server certificate ever arrived) from a handshake
 * the server performed.
 */
public final class HandshakeClient {
    /** What one attempt came to. */
    public enum Outcome {
        /** Handshake done and the server answered. */
        COMPLETED,
        /** The server sent its certificate (so it did the TLS work), then the handshake failed. */
        FAILED_AFTER_SERVER_CERTIFICATE,
        /** Closed or reset before the server sent a certificate: refused without TLS work. */
        REFUSED
    }

    private final SSLContext ctx;
    private final InetSocketAddress target;
    private final ThreadLocal<boolean[]> sawServerCertificate = ThreadLocal.withInitial(() -> new boolean[1]);

    public HandshakeClient(BenchPki pki, boolean withCertificate, InetSocketAddress target)
            throws IOException, GeneralSecurityException {
        this.target = target;
        this.ctx = TlsContexts.client(pki, withCertificate, new TrustManager[] {
            new Watching((X509ExtendedTrustManager) TlsContexts.trustCa(pki)[0])});
    }

    /** One attempt from {@code source}. */
    public Outcome attempt(InetAddress source) {
        boolean[] saw = sawServerCertificate.get();
        saw[0] = false;
        try (Socket s = new Socket()) {
            s.setSoLinger(true, 0);
            // without it Nagle + delayed ACK add ~40 ms to each handshake's flights on loopback
            s.setTcpNoDelay(true);
            s.bind(new InetSocketAddress(source, 0));
            s.connect(target, 5_000);
            s.setSoTimeout(15_000);
            try (SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(s, "localhost", target.getPort(), true)) {
                tls.startHandshake();
                tls.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
                tls.getOutputStream().flush();
                int b = tls.getInputStream().read();
                tls.getSession().invalidate();
                if (b >= 0) {
                    return Outcome.COMPLETED;
                }
            }
        } catch (SocketException | javax.net.ssl.SSLException e) {
            // fall through: failed or refused
        } catch (IOException e) {
            // EOF and timeouts likewise
        }
        return saw[0] ? Outcome.FAILED_AFTER_SERVER_CERTIFICATE : Outcome.REFUSED;
    }

    /** The CA trust manager, noting on this thread that the server's certificate arrived. */
    private final class Watching extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager delegate;

        Watching(X509ExtendedTrustManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            sawServerCertificate.get()[0] = true;
            delegate.checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            sawServerCertificate.get()[0] = true;
            delegate.checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            sawServerCertificate.get()[0] = true;
            delegate.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            delegate.checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            delegate.checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            delegate.checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return delegate.getAcceptedIssuers();
        }
    }
}
