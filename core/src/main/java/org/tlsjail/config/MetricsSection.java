package org.tlsjail.config;

/** {@code metrics.listen}: where the Prometheus endpoint listens (loopback by convention). */
public record MetricsSection(String host, int port) {
    public String listen() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
