package org.tlsjail.tls;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.tlsjail.pki.PemFiles;

/**
 * Loaded, ready-to-use server TLS material: an {@link SSLContext} from an explicit Bouncy Castle
 * JSSE provider instance (no {@code Security.addProvider}, never SunJSSE) plus the handshake
 * parameters. Immutable; a reload builds a new instance and swaps it in.
 */
public final class ServerTls implements AutoCloseable {
    private static final byte[] PROBE = "tlsjail key/certificate match probe".getBytes(StandardCharsets.US_ASCII);

    /**
     * BC JSSE logs every handshake and every alert through java.util.logging at INFO: with
     * scanners probing all day that floods stderr. Kept in a static field because JUL holds
     * loggers weakly (a level set on a collected logger is lost).
     */
    private static final java.util.logging.Logger BC_JSSE_LOG = quiet("org.bouncycastle.jsse", java.util.logging.Level.WARNING);
    /**
     * BC reads the JDK's {@code jdk.certpath.disabledAlgorithms} and warns at every start about the
     * entries it cannot parse (JDK-only syntax): noise an operator can do nothing about.
     */
    private static final java.util.logging.Logger BC_CONSTRAINTS_LOG =
            quiet("org.bouncycastle.jsse.provider.DisabledAlgorithmConstraints", java.util.logging.Level.SEVERE);

    /**
     * BC's server logs every fatal alert it raises at WARNING with a stack trace: one per failed
     * handshake a client causes (resets, and an internal NullPointerException in BC 1.84's
     * ProvTlsServer.selectServerCredentials13 when none of a TLS 1.3 client's signature schemes is
     * enabled, which sslscan --show-sigs provokes). Every one of them is already a Fail2Ban line;
     * as stack traces they would let any client flood the journal.
     */
    private static final java.util.logging.Logger BC_SERVER_ALERT_LOG =
            quiet("org.bouncycastle.jsse.provider.ProvTlsServer", java.util.logging.Level.SEVERE);

    private static java.util.logging.Logger quiet(String name, java.util.logging.Level level) {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(name);
        if (l.getLevel() == null) {
            l.setLevel(level);
        }
        return l;
    }

    private final TlsSettings settings;
    private final SSLSocketFactory factory;
    private final SSLParameters parameters;
    private final X509Certificate serverCertificate;
    private final String[] signatureSchemes;
    private final String[] certificateSignatureSchemes;
    private final CrlStore crls;
    private final CrlWatcher crlWatcher;

    private ServerTls(TlsSettings settings, SSLSocketFactory factory, SSLParameters parameters, X509Certificate cert,
                      CrlStore crls) {
        this.settings = settings;
        this.factory = factory;
        this.parameters = parameters;
        this.serverCertificate = cert;
        this.signatureSchemes = settings.effectiveSignatureSchemes().toArray(String[]::new);
        this.certificateSignatureSchemes = certificateSchemes(settings.effectiveSignatureSchemes());
        this.crls = crls;
        this.crlWatcher = crls == null ? null : new CrlWatcher(crls);
    }

    /**
     * Loads the client CAs and CRLs as {@link #load} would, without a server key: what
     * {@code config check} can verify when the demo PKI (created at start) provides the key.
     */
    public static void checkClientTrust(TrustSource clientCas, RevocationSettings revocation, InstantSource clock) {
        List<X509Certificate> anchors = clientCas == null ? List.of() : loadAnchors(clientCas);
        if (revocation != null) {
            CrlStore.load(revocation, anchors, clock);
        }
    }

    /** Loads all files named by {@code settings}; throws {@link TlsSetupException} naming the bad file. */
    public static ServerTls load(TlsSettings settings, InstantSource clock) {
        Objects.requireNonNull(BC_JSSE_LOG);
        Objects.requireNonNull(BC_SERVER_ALERT_LOG);
        BouncyCastleProvider crypto = new BouncyCastleProvider();
        BouncyCastleJsseProvider jsse = new BouncyCastleJsseProvider(crypto);
        LoadedKey key = loadKey(settings.serverKey());
        try {
            // Not Bouncy Castle's key managers: they look at the client's SNI and fail the handshake
            // (internal_error) on a name that is not a DNS name, where OpenSSL ignores it.
            KeyManager[] kms = {new ServerKeyManager(key.key(), key.chain())};

            TrustManager[] tms;
            CrlStore crls = null;
            if (settings.clientAuth() == ClientAuth.NONE) {
                tms = new TrustManager[0];
            } else {
                List<X509Certificate> anchors = loadAnchors(settings.clientCas());
                KeyStore ts = KeyStore.getInstance("PKCS12");
                ts.load(null, null);
                int i = 0;
                for (X509Certificate c : anchors) {
                    ts.setCertificateEntry("ca" + i++, c);
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX", jsse);
                tmf.init(ts);
                X509ExtendedTrustManager bc = null;
                for (TrustManager tm : tmf.getTrustManagers()) {
                    if (tm instanceof X509ExtendedTrustManager x) {
                        bc = x;
                    }
                }
                if (bc == null) {
                    throw new TlsSetupException("Bouncy Castle offered no X509ExtendedTrustManager");
                }
                crls = settings.revocation() == null ? null : CrlStore.load(settings.revocation(), anchors, clock);
                tms = new TrustManager[] {new ClientCertificateVerifier(bc, anchors, clock, settings.certificatePolicy(), crls)};
            }
            SSLContext ctx = SSLContext.getInstance("TLS", jsse);
            ctx.init(kms, tms, new java.security.SecureRandom());

            SSLParameters p = ctx.getDefaultSSLParameters();
            p.setProtocols(settings.protocols().toArray(String[]::new));
            List<String> supported = List.of(ctx.getSupportedSSLParameters().getCipherSuites());
            for (String cs : settings.effectiveCipherSuites()) {
                if (!supported.contains(cs)) {
                    throw new TlsSetupException("cipher-suites: unsupported cipher suite '" + cs + "'");
                }
            }
            p.setCipherSuites(settings.effectiveCipherSuites().toArray(String[]::new));
            // As Mozilla's intermediate profile: the client's order (every suite offered is strong).
            switch (settings.clientAuth()) {
                case REQUIRED -> p.setNeedClientAuth(true);
                case OPTIONAL -> p.setWantClientAuth(true);
                case NONE -> p.setNeedClientAuth(false);
            }
            return new ServerTls(settings, ctx.getSocketFactory(), p, key.chain().get(0), crls);
        } catch (GeneralSecurityException | IOException e) {
            throw new TlsSetupException("cannot set up TLS: " + e.getMessage(), e);
        }
    }

    public TlsSettings settings() {
        return settings;
    }

    public X509Certificate serverCertificate() {
        return serverCertificate;
    }

    /**
     * Layers a server-mode TLS socket over an accepted socket. {@code consumed} holds bytes already
     * read from {@code raw} (the listener peeks at the first bytes); they are replayed to the TLS
     * engine first. Closing the TLS socket closes {@code raw}.
     */
    public SSLSocket serverSocket(Socket raw, InputStream consumed) throws IOException {
        SSLSocket s = (SSLSocket) factory.createSocket(raw, consumed, true);
        s.setUseClientMode(false);
        s.setSSLParameters(parameters);
        // Signature schemes are not in javax.net.ssl.SSLParameters: Bouncy Castle's own parameters
        // carry them, for the handshake (signature_algorithms) and for certificates
        // (signature_algorithms_cert).
        BCSSLSocket bc = (BCSSLSocket) s;
        BCSSLParameters bp = bc.getParameters();
        bp.setSignatureSchemes(signatureSchemes);
        bp.setSignatureSchemesCert(certificateSignatureSchemes);
        bc.setParameters(bp);
        return s;
    }

    /**
     * signature_algorithms_cert: the handshake's schemes plus the SHA-1 ones. A client whose
     * certificate is SHA-1-signed withholds it when SHA-1 is not listed (OpenSSL does), and the
     * log would say "peer did not return a certificate"; listed, the client sends it and the
     * {@link CertificatePolicy} rejects it with OpenSSL's "CA signature digest algorithm too weak"
     * (or accepts it when sha1-signatures is accept). Handshake signatures stay without SHA-1.
     */
    private static String[] certificateSchemes(List<String> schemes) {
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>(schemes);
        out.add("rsa_pkcs1_sha1");
        out.add("ecdsa_sha1");
        return out.toArray(String[]::new);
    }

    /** Stops watching the CRL files; handshakes in progress keep the CRLs they have. */
    @Override
    public void close() {
        if (crlWatcher != null) {
            crlWatcher.close();
        }
    }

    private record LoadedKey(PrivateKey key, List<X509Certificate> chain) {
    }

    private static LoadedKey loadKey(KeySource source) {
        LoadedKey k;
        if (source instanceof KeySource.Pem pem) {
            List<X509Certificate> chain;
            PrivateKey key;
            try {
                chain = PemFiles.readCertificates(pem.chainFile());
            } catch (IOException e) {
                throw new TlsSetupException("server certificate chain: " + e.getMessage(), e);
            }
            try {
                key = PemFiles.readPrivateKey(pem.keyFile());
            } catch (IOException e) {
                throw new TlsSetupException("server private key: " + e.getMessage(), e);
            }
            k = new LoadedKey(key, chain);
            checkMatch(k, pem.keyFile() + " does not match the certificate in " + pem.chainFile());
        } else {
            KeySource.Pkcs12 p12 = (KeySource.Pkcs12) source;
            KeyStore ks = readPkcs12(p12.file(), p12.password(), "server key store");
            try {
                String alias = p12.alias();
                if (alias == null) {
                    for (String a : Collections.list(ks.aliases())) {
                        if (ks.isKeyEntry(a)) {
                            if (alias != null) {
                                throw new TlsSetupException("server key store " + p12.file()
                                        + " holds several keys; name one with an alias");
                            }
                            alias = a;
                        }
                    }
                }
                if (alias == null || !ks.isKeyEntry(alias)) {
                    throw new TlsSetupException("server key store " + p12.file() + " holds no private key"
                            + (p12.alias() == null ? "" : " under alias '" + p12.alias() + "'"));
                }
                PrivateKey key = (PrivateKey) ks.getKey(alias, p12.password().toCharArray());
                List<X509Certificate> chain = new ArrayList<>();
                for (Certificate c : ks.getCertificateChain(alias)) {
                    chain.add((X509Certificate) c);
                }
                k = new LoadedKey(key, List.copyOf(chain));
            } catch (GeneralSecurityException e) {
                throw new TlsSetupException("server key store " + p12.file() + ": cannot read the key: " + e.getMessage(), e);
            }
            checkMatch(k, "the key in " + p12.file() + " does not match its certificate");
        }
        return k;
    }

    private static List<X509Certificate> loadAnchors(TrustSource source) {
        if (source instanceof TrustSource.PemBundle pem) {
            try {
                return PemFiles.readCertificates(pem.file());
            } catch (IOException e) {
                throw new TlsSetupException("client CAs: " + e.getMessage(), e);
            }
        }
        TrustSource.Pkcs12 p12 = (TrustSource.Pkcs12) source;
        KeyStore ks = readPkcs12(p12.file(), p12.password(), "client CA store");
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (String a : Collections.list(ks.aliases())) {
                Certificate c = ks.getCertificate(a);
                if (c instanceof X509Certificate x) {
                    out.add(x);
                }
            }
            if (out.isEmpty()) {
                throw new TlsSetupException("client CA store " + p12.file() + " holds no certificate");
            }
            return List.copyOf(out);
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException("client CA store " + p12.file() + ": " + e.getMessage(), e);
        }
    }

    private static KeyStore readPkcs12(Path file, String password, String what) {
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password.toCharArray());
            return ks;
        } catch (IOException | GeneralSecurityException e) {
            throw new TlsSetupException(what + " " + file + ": cannot read PKCS#12 (" + e.getMessage() + ")", e);
        }
    }

    /** Signs and verifies a probe: cheaper to reason about than comparing key encodings per algorithm. */
    private static void checkMatch(LoadedKey k, String message) {
        PublicKey pub = k.chain().get(0).getPublicKey();
        String alg = switch (k.key().getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null;
        };
        if (alg == null) {
            throw new TlsSetupException("unsupported server key algorithm " + k.key().getAlgorithm());
        }
        try {
            Signature s = Signature.getInstance(alg);
            s.initSign(k.key());
            s.update(PROBE);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(pub);
            v.update(PROBE);
            if (!v.verify(sig)) {
                throw new TlsSetupException(message);
            }
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException(message + " (" + e.getMessage() + ")", e);
        }
    }
}
