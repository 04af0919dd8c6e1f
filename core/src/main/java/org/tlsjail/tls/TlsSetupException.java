package org.tlsjail.tls;

/** TLS material could not be loaded; the message names the file and what is wrong with it. */
public final class TlsSetupException extends RuntimeException {
    public TlsSetupException(String message, Throwable cause) {
        super(message, cause);
    }

    public TlsSetupException(String message) {
        super(message);
    }
}
