package org.tlsjail.tls;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable TLS settings of a listener.
 *
 * @param serverKey    the server's key and chain
 * @param clientCas    the CAs client certificates must chain to; may be null only with {@link ClientAuth#NONE}
 * @param protocols    enabled protocols, a subset of TLSv1.3 and TLSv1.2, in any order
 * @param cipherSuites enabled cipher suites (IANA names); empty = the provider's defaults
 * @param clientAuth   client certificate policy
 */
public record TlsSettings(
        KeySource serverKey,
        TrustSource clientCas,
        List<String> protocols,
        List<String> cipherSuites,
        ClientAuth clientAuth) {

    private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

    public TlsSettings {
        Objects.requireNonNull(serverKey, "serverKey");
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
        Objects.requireNonNull(clientAuth, "clientAuth");
        if (protocols.isEmpty()) {
            throw new IllegalArgumentException("protocols: at least one of TLSv1.3, TLSv1.2 is needed");
        }
        for (String p : protocols) {
            if (!KNOWN_PROTOCOLS.contains(p)) {
                throw new IllegalArgumentException("protocols: unsupported protocol '" + p + "' (allowed: TLSv1.3, TLSv1.2)");
            }
        }
        if (clientCas == null && clientAuth != ClientAuth.NONE) {
            throw new IllegalArgumentException("client-cas: needed unless client-auth is none");
        }
    }

    /** TLSv1.3 and TLSv1.2, provider cipher suites, client certificate required. */
    public static TlsSettings of(KeySource serverKey, TrustSource clientCas) {
        return new TlsSettings(serverKey, clientCas, List.of("TLSv1.3", "TLSv1.2"), List.of(), ClientAuth.REQUIRED);
    }

    public TlsSettings withProtocols(List<String> p) {
        return new TlsSettings(serverKey, clientCas, p, cipherSuites, clientAuth);
    }

    public TlsSettings withCipherSuites(List<String> c) {
        return new TlsSettings(serverKey, clientCas, protocols, c, clientAuth);
    }

    public TlsSettings withClientAuth(ClientAuth a) {
        return new TlsSettings(serverKey, clientCas, protocols, cipherSuites, a);
    }
}
