package org.tlsjail.pki;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.tlsjail.files.FileSafety;

/**
 * Reading and writing PEM and PKCS#12 files. Every error names the file. Files holding a private
 * key are written with mode 0600 (where the file system is POSIX), via a temp file and an atomic
 * rename, so a reader never sees half a key.
 */
public final class PemFiles {
    private PemFiles() {
    }

    /** Writes certificates as concatenated PEM blocks (leaf first for a chain). */
    public static void writeCertificates(Path file, List<X509Certificate> certs) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (X509Certificate c : certs) {
                w.writeObject(c);
            }
        }
        writeAtomically(file, sw.toString().getBytes(StandardCharsets.US_ASCII), false);
    }

    /** Writes a private key as unencrypted PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), mode 0600. */
    public static void writePrivateKey(Path file, PrivateKey key) throws IOException {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            w.writeObject(new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", key.getEncoded()));
        }
        writeAtomically(file, sw.toString().getBytes(StandardCharsets.US_ASCII), true);
    }

    /** Writes a PKCS#12 key store holding the credential under {@code alias}, mode 0600. */
    public static void writePkcs12(Path file, Credential credential, String alias, char[] password) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(alias, credential.privateKey(), password, credential.chain().toArray(Certificate[]::new));
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            ks.store(out, password);
            writeAtomically(file, out.toByteArray(), true);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot write PKCS#12 file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads all certificates of a PEM file; fails naming the file if there are none. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            Collection<? extends Certificate> all = CertificateFactory.getInstance("X.509").generateCertificates(in);
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : all) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException("no certificate found in " + file);
            }
            return List.copyOf(out);
        } catch (CertificateException e) {
            throw new IOException("cannot read certificates from " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads an unencrypted private key (PKCS#8, or traditional EC/RSA PEM). */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o;
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            while ((o = p.readObject()) != null) {
                if (o instanceof PrivateKeyInfo pki) {
                    return conv.getPrivateKey(pki);
                }
                if (o instanceof PEMKeyPair kp) {
                    return conv.getKeyPair(kp).getPrivate();
                }
            }
            throw new IOException("no unencrypted private key found in " + file);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains(file.toString())) {
                throw e;
            }
            throw new IOException("cannot read private key from " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IOException("cannot read private key from " + file + ": " + e, e);
        }
    }

    private static void writeAtomically(Path file, byte[] data, boolean secret) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // exclusive temp file, no link followed, renamed into place: see FileSafety
        FileSafety.writeAtomically(file, data, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
    }
}
