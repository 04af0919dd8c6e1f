/**
 * A small PKI on bcpkix: a certificate authority that issues server and client certificates with
 * any subject (hostile text included), SANs and validity windows, PEM/PKCS#12 files, and the
 * daemon's demo PKI ({@link org.tlsjail.pki.DemoPki#ensure(java.nio.file.Path)}).
 */
package org.tlsjail.pki;
