package org.tlsjail.bench.load;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.Provider;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

/** SSLContexts for the servers and clients of the harness, from the bench PKI. */
public final class TlsContexts {
    /** Which JSSE implementation a server runs on. */
    public enum Jsse {
        /** Bouncy Castle JSSE over Bouncy Castle's crypto provider, both explicit instances (as tlsjail's ServerTls). */
        BCJSSE,
        /** The JDK's own SunJSSE. */
        SUNJSSE
    }

    private TlsContexts() {
    }

    public static SSLContext server(BenchPki pki, Jsse jsse) throws IOException, GeneralSecurityException {
        Provider p = switch (jsse) {
            case BCJSSE -> new BouncyCastleJsseProvider(new BouncyCastleProvider());
            case SUNJSSE -> null;
        };
        // "X.509" is what tlsjail's ServerTls asks BC for
        KeyManagerFactory kmf = p == null ? KeyManagerFactory.getInstance("PKIX", "SunJSSE") : KeyManagerFactory.getInstance("X.509", p);
        kmf.init(pki.serverKeyStore(), BenchPki.PASSWORD.toCharArray());
        TrustManagerFactory tmf = p == null ? TrustManagerFactory.getInstance("PKIX", "SunJSSE") : TrustManagerFactory.getInstance("PKIX", p);
        tmf.init(pki.trustStore());
        SSLContext ctx = p == null ? SSLContext.getInstance("TLS", "SunJSSE") : SSLContext.getInstance("TLS", p);
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new java.security.SecureRandom());
        return ctx;
    }

    /**
     * The load clients' context: SunJSSE, the client certificate if {@code withCertificate}, and
     * the given trust managers (so a client can see whether the server sent its certificate).
     */
    public static SSLContext client(BenchPki pki, boolean withCertificate, javax.net.ssl.TrustManager[] trust)
            throws IOException, GeneralSecurityException {
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", "SunJSSE");
        kmf.init(pki.clientKeyStore(), BenchPki.PASSWORD.toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS", "SunJSSE");
        ctx.init(withCertificate ? kmf.getKeyManagers() : null, trust, null);
        // every handshake must be a full one: nothing is kept for resumption
        ctx.getClientSessionContext().setSessionCacheSize(1);
        return ctx;
    }

    public static javax.net.ssl.TrustManager[] trustCa(BenchPki pki) throws IOException, GeneralSecurityException {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX", "SunJSSE");
        tmf.init(pki.trustStore());
        return tmf.getTrustManagers();
    }
}
