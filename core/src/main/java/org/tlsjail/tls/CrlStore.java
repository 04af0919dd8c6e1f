package org.tlsjail.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CRL;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.IssuingDistributionPoint;

/**
 * The CRLs named by {@link RevocationSettings}, parsed once per change, and the revocation check
 * for a built client path (like OpenSSL's {@code -crl_check_all}: every certificate but the trust
 * anchor). Readers see an immutable snapshot through one volatile field; {@link #refreshIfChanged()}
 * (called off the handshake path) compares cheap file metadata and re-parses only on a change.
 */
final class CrlStore {
    /** Larger files are refused: a CRL this size holds about 400 000 entries already. */
    static final long MAX_FILE_BYTES = 16L << 20;
    /** A directory with more files than this is refused rather than parsed. */
    static final int MAX_FILES = 1000;
    private static final int MAX_SIGNATURE_CACHE = 10_000;

    private final RevocationSettings settings;
    private final List<X509Certificate> anchors;
    private final InstantSource clock;
    private volatile Snapshot snapshot;
    /** The files as they were when reading them last failed (only the watcher thread touches it). */
    private List<FileState> lastFailed;
    /** Which CRL verified under which issuer key; keys come from paths already verified to an anchor. */
    private final Map<SignatureKey, Boolean> signatureCache = new ConcurrentHashMap<>();

    private record Snapshot(Map<X500Principal, List<X509CRL>> byIssuer, List<FileState> files) {
    }

    /** What a file looked like when read: a change in any field means "read it again". */
    private record FileState(Path path, Object fileKey, long modifiedNanos, long size) {
    }

    private record SignatureKey(X509CRL crl, PublicKey key) {
    }

    private CrlStore(RevocationSettings settings, List<X509Certificate> anchors, InstantSource clock, Snapshot first) {
        this.settings = settings;
        this.anchors = List.copyOf(anchors);
        this.clock = clock;
        this.snapshot = first;
    }

    /** Reads every CRL now; a file that cannot be used is a {@link TlsSetupException} naming it. */
    static CrlStore load(RevocationSettings settings, List<X509Certificate> anchors, InstantSource clock) {
        return new CrlStore(settings, anchors, clock, read(settings, anchors));
    }

    RevocationSettings settings() {
        return settings;
    }

    /** Number of CRLs in force (for messages and tests). */
    int size() {
        return snapshot.byIssuer().values().stream().mapToInt(List::size).sum();
    }

    /**
     * Re-reads the CRLs if any file changed (inode, mtime, size, or the directory's entries). On a
     * bad file the previous CRLs stay in force and the exception says why; the next change retries.
     *
     * @return true if new CRLs were taken
     */
    boolean refreshIfChanged() {
        Snapshot current = snapshot;
        List<FileState> now;
        try {
            now = states(settings.sources());
        } catch (IOException e) {
            throw new TlsSetupException("crl: " + e.getMessage(), e);
        }
        if (now.equals(current.files()) || now.equals(lastFailed)) {
            return false;
        }
        try {
            snapshot = read(settings, anchors);
        } catch (TlsSetupException e) {
            lastFailed = now; // not parsed again until the files change again
            throw e;
        }
        lastFailed = null;
        signatureCache.clear();
        return true;
    }

    /**
     * Checks a path (leaf first, trust anchor last, signatures already verified) against the CRLs;
     * returns 0 or OpenSSL's verify result (3, 8, 11, 12, 23).
     */
    int check(List<X509Certificate> path) {
        Snapshot s = snapshot;
        Instant now = clock.instant();
        for (int i = 0; i < path.size() - 1; i++) {
            int r = checkOne(s, path.get(i), path.get(i + 1), now);
            if (r != 0) {
                return r;
            }
        }
        return 0;
    }

    private int checkOne(Snapshot s, X509Certificate cert, X509Certificate issuer, Instant now) {
        List<X509CRL> candidates = s.byIssuer().get(cert.getIssuerX500Principal());
        if (candidates == null) {
            return settings.onMissing() == RevocationSettings.Fallback.ACCEPT ? 0 : X509VerifyResult.UNABLE_TO_GET_CRL;
        }
        X509CRL best = null;
        for (X509CRL crl : candidates) {
            if (signedBy(crl, issuer.getPublicKey())
                    && (best == null || crl.getThisUpdate().after(best.getThisUpdate()))) {
                best = crl;
            }
        }
        if (best == null) {
            return X509VerifyResult.CRL_SIGNATURE_FAILURE;
        }
        if (best.getThisUpdate().toInstant().isAfter(now)) {
            return X509VerifyResult.CRL_NOT_YET_VALID;
        }
        if (best.getNextUpdate() != null && best.getNextUpdate().toInstant().isBefore(now)
                && settings.onExpired() == RevocationSettings.Fallback.REJECT) {
            return X509VerifyResult.CRL_HAS_EXPIRED;
        }
        X509CRLEntry entry = best.getRevokedCertificate(cert.getSerialNumber());
        return entry == null ? 0 : X509VerifyResult.CERT_REVOKED;
    }

    private boolean signedBy(X509CRL crl, PublicKey key) {
        SignatureKey k = new SignatureKey(crl, key);
        Boolean known = signatureCache.get(k);
        if (known != null) {
            return known;
        }
        boolean ok;
        try {
            crl.verify(key);
            ok = true;
        } catch (GeneralSecurityException | RuntimeException e) {
            ok = false;
        }
        if (signatureCache.size() >= MAX_SIGNATURE_CACHE) {
            signatureCache.clear();
        }
        signatureCache.put(k, ok);
        return ok;
    }

    private static Snapshot read(RevocationSettings settings, List<X509Certificate> anchors) {
        List<FileState> before;
        try {
            before = states(settings.sources());
        } catch (IOException e) {
            throw new TlsSetupException("crl: " + e.getMessage(), e);
        }
        Map<X500Principal, List<X509CRL>> byIssuer = new HashMap<>();
        for (FileState f : before) {
            if (f.fileKey() == DIRECTORY) {
                continue;
            }
            for (X509CRL crl : parse(f.path())) {
                checkUsable(f.path(), crl, anchors);
                byIssuer.computeIfAbsent(crl.getIssuerX500Principal(), k -> new ArrayList<>()).add(crl);
            }
        }
        byIssuer.replaceAll((k, v) -> List.copyOf(v));
        return new Snapshot(Map.copyOf(byIssuer), before);
    }

    private static final Object DIRECTORY = new Object() {
        @Override
        public String toString() {
            return "directory";
        }
    };

    /** The files behind the sources, in a stable order, with the metadata a change shows in. */
    private static List<FileState> states(List<Path> sources) throws IOException {
        List<FileState> out = new ArrayList<>();
        for (Path source : sources) {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(source, BasicFileAttributes.class);
            } catch (IOException e) {
                throw new IOException("cannot read " + source + " (" + reason(e) + ")", e);
            }
            if (a.isDirectory()) {
                List<Path> entries = new ArrayList<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(source)) {
                    for (Path p : ds) {
                        if (p.getFileName().toString().startsWith(".")) {
                            continue; // editors' and rsync's temporary files
                        }
                        entries.add(p);
                        if (entries.size() > MAX_FILES) {
                            throw new IOException(source + " holds more than " + MAX_FILES + " files");
                        }
                    }
                } catch (IOException e) {
                    throw e.getMessage() != null && e.getMessage().contains("more than") ? e
                            : new IOException("cannot list " + source + " (" + reason(e) + ")", e);
                }
                entries.sort(null);
                // the directory's own mtime changes when a file is added, removed or renamed in
                out.add(new FileState(source, DIRECTORY, a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), 0));
                for (Path p : entries) {
                    BasicFileAttributes fa = Files.readAttributes(p, BasicFileAttributes.class);
                    if (fa.isRegularFile()) {
                        out.add(state(p, fa));
                    }
                }
            } else if (a.isRegularFile()) {
                out.add(state(source, a));
            } else {
                throw new IOException(source + " is neither a file nor a directory");
            }
        }
        return out;
    }

    private static FileState state(Path p, BasicFileAttributes a) {
        return new FileState(p, a.fileKey(), a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), a.size());
    }

    private static Collection<X509CRL> parse(Path file) {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) MAX_FILE_BYTES + 1);
        } catch (IOException e) {
            throw new TlsSetupException("crl " + file + ": cannot read (" + reason(e) + ")", e);
        }
        if (bytes.length > MAX_FILE_BYTES) {
            throw new TlsSetupException("crl " + file + ": larger than " + (MAX_FILE_BYTES >> 20) + " MiB; not read");
        }
        Collection<? extends CRL> crls;
        try {
            // The JDK's parser: it reads PEM (any number of blocks) and DER, and only parses.
            crls = CertificateFactory.getInstance("X.509").generateCRLs(new ByteArrayInputStream(bytes));
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new TlsSetupException("crl " + file + ": not a PEM or DER CRL (" + e.getMessage() + ")", e);
        }
        if (crls.isEmpty()) {
            throw new TlsSetupException("crl " + file + ": holds no CRL");
        }
        List<X509CRL> out = new ArrayList<>();
        for (CRL c : crls) {
            if (!(c instanceof X509CRL x)) {
                throw new TlsSetupException("crl " + file + ": not an X.509 CRL");
            }
            out.add(x);
        }
        return out;
    }

    /**
     * Refuses what tlsjail would misread: delta CRLs and partitioned or indirect CRLs (an
     * issuing distribution point that limits the scope), and a CRL of a configured CA that its
     * CA did not sign. CRLs of intermediates are verified when a chain brings their issuer.
     */
    private static void checkUsable(Path file, X509CRL crl, List<X509Certificate> anchors) {
        String what = "crl " + file + " (issuer " + crl.getIssuerX500Principal().getName() + ")";
        if (crl.getExtensionValue(Extension.deltaCRLIndicator.getId()) != null) {
            throw new TlsSetupException(what + ": delta CRLs are not supported; give the full CRL");
        }
        byte[] idp = crl.getExtensionValue(Extension.issuingDistributionPoint.getId());
        if (idp != null) {
            try {
                IssuingDistributionPoint p = IssuingDistributionPoint.getInstance(
                        ASN1OctetString.getInstance(idp).getOctets());
                if (p.onlyContainsUserCerts() || p.onlyContainsCACerts() || p.onlyContainsAttributeCerts()
                        || p.isIndirectCRL() || p.getOnlySomeReasons() != null) {
                    throw new TlsSetupException(what + ": partitioned or indirect CRLs are not supported; give the full CRL");
                }
            } catch (IllegalArgumentException e) {
                throw new TlsSetupException(what + ": unreadable issuing distribution point", e);
            }
        }
        boolean issuerKnown = false;
        boolean verified = false;
        for (X509Certificate a : anchors) {
            if (a.getSubjectX500Principal().equals(crl.getIssuerX500Principal())) {
                issuerKnown = true;
                try {
                    crl.verify(a.getPublicKey());
                    verified = true;
                } catch (GeneralSecurityException | RuntimeException e) {
                    // another anchor of the same name may have signed it
                }
            }
        }
        if (issuerKnown && !verified) {
            throw new TlsSetupException(what + ": its signature does not verify with that client CA's key");
        }
    }

    static String reason(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied for this user";
        }
        return Objects.toString(e.getMessage(), e.getClass().getSimpleName());
    }
}
