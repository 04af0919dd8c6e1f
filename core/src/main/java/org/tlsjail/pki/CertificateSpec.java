package org.tlsjail.pki;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What to put into an issued certificate. The subject is given as a common name plus optional
 * organisation, never parsed from a DN string, so any text (including hostile text with commas,
 * newlines or 10 kB of data) ends up in the certificate verbatim.
 */
public record CertificateSpec(
        String commonName,
        String organization,
        List<String> dnsNames,
        List<InetAddress> ipAddresses,
        Instant notBefore,
        Instant notAfter,
        Usage usage) {

    /** Extended key usage of the certificate. */
    public enum Usage { SERVER, CLIENT, SERVER_AND_CLIENT }

    public CertificateSpec {
        Objects.requireNonNull(commonName, "commonName");
        dnsNames = List.copyOf(dnsNames);
        ipAddresses = List.copyOf(ipAddresses);
        Objects.requireNonNull(notBefore, "notBefore");
        Objects.requireNonNull(notAfter, "notAfter");
        Objects.requireNonNull(usage, "usage");
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("notAfter must be after notBefore");
        }
    }

    public static Builder builder(String commonName) {
        return new Builder(commonName);
    }

    /** Builder; by default valid from one hour ago for one year, client usage, no SANs. */
    public static final class Builder {
        private final String commonName;
        private String organization;
        private final List<String> dnsNames = new ArrayList<>();
        private final List<InetAddress> ipAddresses = new ArrayList<>();
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = notBefore.plus(Duration.ofDays(366));
        private Usage usage = Usage.CLIENT;

        private Builder(String commonName) {
            this.commonName = commonName;
        }

        public Builder organization(String organization) {
            this.organization = organization;
            return this;
        }

        public Builder dnsName(String name) {
            dnsNames.add(name);
            return this;
        }

        public Builder ipAddress(InetAddress address) {
            ipAddresses.add(address);
            return this;
        }

        public Builder validity(Instant notBefore, Instant notAfter) {
            this.notBefore = notBefore;
            this.notAfter = notAfter;
            return this;
        }

        public Builder usage(Usage usage) {
            this.usage = usage;
            return this;
        }

        public CertificateSpec build() {
            return new CertificateSpec(commonName, organization, dnsNames, ipAddresses, notBefore, notAfter, usage);
        }
    }
}
