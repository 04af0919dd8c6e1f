package org.tlsjail.config;

/** {@code tls.client-auth}: whether a client certificate is required, asked for, or not asked for. */
public enum ClientAuth {
    REQUIRED, OPTIONAL, NONE;

    public String yamlName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
