/**
 * Server TLS material: key and chain from PKCS#12 or PEM, client CAs from PKCS#12 or a PEM bundle,
 * an {@link javax.net.ssl.SSLContext} from an explicit Bouncy Castle JSSE provider instance, and the
 * client certificate verifier that reports OpenSSL's X509 verify result as a typed exception.
 */
package org.tlsjail.tls;
