package org.tlsjail.cluster;

/** The cluster cannot be joined as configured (e.g. Redis refused the credentials). */
public final class ClusterStartException extends Exception {
    private static final long serialVersionUID = 1L;

    public ClusterStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
