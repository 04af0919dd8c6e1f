package org.tlsjail.tls;

/** Whether the listener asks for a client certificate. */
public enum ClientAuth {
    /** A verified client certificate is mandatory (OFTP2 style mutual TLS; the default). */
    REQUIRED,
    /** A client certificate is requested; if one is sent it must verify. */
    OPTIONAL,
    /** No client certificate is requested. */
    NONE
}
