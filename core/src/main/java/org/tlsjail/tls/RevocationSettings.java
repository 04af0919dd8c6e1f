package org.tlsjail.tls;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Certificate revocation lists for client chains ({@code tls.crl*}).
 *
 * @param sources       CRL files (PEM or DER, one or more CRLs each) and directories of them
 * @param onExpired     what a CRL past its nextUpdate means: REJECT (OpenSSL's "CRL has expired") or ACCEPT
 * @param onMissing     what a CA without any CRL means: REJECT (OpenSSL's "unable to get certificate CRL") or ACCEPT
 * @param checkInterval how often the files are looked at (metadata only) for changes
 */
public record RevocationSettings(List<Path> sources, Fallback onExpired, Fallback onMissing, Duration checkInterval) {
    /** The answer for a CRL that cannot decide: refuse the client, or accept it as if it were not revoked. */
    public enum Fallback {
        REJECT,
        ACCEPT
    }

    public RevocationSettings {
        sources = List.copyOf(sources);
        Objects.requireNonNull(onExpired, "onExpired");
        Objects.requireNonNull(onMissing, "onMissing");
        Objects.requireNonNull(checkInterval, "checkInterval");
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("crl: at least one file or directory");
        }
        if (checkInterval.isNegative() || checkInterval.isZero()) {
            throw new IllegalArgumentException("crl-check-interval: must be positive");
        }
    }

    /** Rejects on an expired or missing CRL, looks for changes every 10 s. */
    public static RevocationSettings of(List<Path> sources) {
        return new RevocationSettings(sources, Fallback.REJECT, Fallback.REJECT, Duration.ofSeconds(10));
    }
}
