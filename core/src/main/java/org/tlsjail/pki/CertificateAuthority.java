package org.tlsjail.pki;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.DERUTF8String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority for tests, demos and the daemon's demo PKI. Keys are EC P-256
 * (fast to generate, accepted by OpenSSL and Bouncy Castle), signatures SHA256withECDSA, all
 * through the JDK's own providers so no global provider state is touched.
 */
public final class CertificateAuthority {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Credential credential;

    private CertificateAuthority(Credential credential) {
        this.credential = credential;
    }

    /** Creates a self-signed root CA named {@code CN=commonName}, valid from now-1h for {@code validity}. */
    public static CertificateAuthority create(String commonName, Duration validity) {
        Instant from = Instant.now().minus(Duration.ofHours(1));
        return create(commonName, from, from.plus(validity));
    }

    /** Creates a self-signed root CA with an explicit validity window. */
    public static CertificateAuthority create(String commonName, Instant notBefore, Instant notAfter) {
        try {
            KeyPair kp = newKeyPair();
            X500Name name = name(commonName, null);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(notBefore),
                    Date.from(notAfter), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b, kp.getPrivate());
            return new CertificateAuthority(new Credential(kp.getPrivate(), List.of(cert)));
        } catch (GeneralSecurityException | org.bouncycastle.cert.CertIOException e) {
            throw new IllegalStateException("cannot create CA '" + commonName + "'", e);
        }
    }

    /** Loads an existing CA from its credential (for example one read back from PEM). */
    public static CertificateAuthority of(Credential credential) {
        return new CertificateAuthority(credential);
    }

    public Credential credential() {
        return credential;
    }

    public X509Certificate certificate() {
        return credential.certificate();
    }

    /** Issues a certificate for a fresh key pair; the returned chain is leaf, CA. */
    public Credential issue(CertificateSpec spec) {
        try {
            KeyPair kp = newKeyPair();
            return new Credential(kp.getPrivate(), List.of(issue(spec, kp.getPublic()), certificate()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue certificate", e);
        }
    }

    /** Issues a certificate for the given public key. */
    public X509Certificate issue(CertificateSpec spec, PublicKey publicKey) {
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509CertificateHolder issuer = new X509CertificateHolder(certificate().getEncoded());
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer.getSubject(), serial(),
                    Date.from(spec.notBefore()), Date.from(spec.notAfter()),
                    name(spec.commonName(), spec.organization()), publicKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, extendedKeyUsage(spec.usage()))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(publicKey))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(certificate()));
            List<GeneralName> sans = new ArrayList<>();
            for (String dns : spec.dnsNames()) {
                sans.add(new GeneralName(GeneralName.dNSName, dns));
            }
            for (InetAddress ip : spec.ipAddresses()) {
                sans.add(new GeneralName(GeneralName.iPAddress,
                        new org.bouncycastle.asn1.DEROctetString(ip.getAddress())));
            }
            if (!sans.isEmpty()) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(sans.toArray(GeneralName[]::new)));
            }
            return sign(b, credential.privateKey());
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot issue certificate", e);
        }
    }

    static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static ExtendedKeyUsage extendedKeyUsage(CertificateSpec.Usage usage) {
        return switch (usage) {
            case SERVER -> new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth);
            case CLIENT -> new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
            case SERVER_AND_CLIENT -> new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth});
        };
    }

    /** Builds the name attribute by attribute: hostile text is stored as is, never parsed. */
    private static X500Name name(String commonName, String organization) {
        X500NameBuilder nb = new X500NameBuilder(BCStyle.INSTANCE);
        if (organization != null) {
            nb.addRDN(BCStyle.O, (ASN1Encodable) new DERUTF8String(organization));
        }
        nb.addRDN(BCStyle.CN, (ASN1Encodable) new DERUTF8String(commonName));
        return nb.build();
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }
}
