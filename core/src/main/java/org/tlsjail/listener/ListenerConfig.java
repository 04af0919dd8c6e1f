package org.tlsjail.listener;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.tlsjail.banengine.SourceKey;

/**
 * Immutable listener settings.
 *
 * @param bind                   address and port to listen on (port 0 = ephemeral)
 * @param backlog                accept backlog
 * @param handshakeTimeout       wall-clock limit for a whole handshake (default 10 s)
 * @param maxHandshakesPerSource unfinished handshakes (parked or running) allowed per source, the ban
 *                               unit (IPv4 address or ipv4-prefix, ipv6-prefix) (default 8); a
 *                               source that is not a known partner runs at most maxretry minus its
 *                               failures in the window of them past the ClientHello, the rest wait
 * @param maxHandshakesTotal     unfinished handshakes allowed in total (default 4096); a connection
 *                               still sending its ClientHello waits without a thread, so this is
 *                               mostly a file-descriptor budget
 * @param handshakeThreads       handshake threads kept ready (default 256; idle ones end after 30 s).
 *                               Every connection whose ClientHello is in gets a thread at once, up to
 *                               maxHandshakesTotal, never a place in a queue: a handshake blocks its
 *                               thread while it waits for the client, so a queue would let clients
 *                               that stall after their ClientHello make a partner wait
 * @param weights                failures counted per kind (default 1 for every kind)
 * @param refusalLogInterval     at most one operational log line about refusals per interval
 * @param partners               sources that always count as known partners (addresses or CIDRs)
 * @param partnerWindow          a source with a successful handshake within this window is a known
 *                               partner too (default 1 hour)
 * @param partnerReserve         places of maxHandshakesTotal only known partners may take (default
 *                               min(256, maxHandshakesTotal / 4)), so a flood by others cannot fill them
 * @param idleThreadTimeout      an idle handshake thread ends after this (default 30 s): after a flood
 *                               the threads, and their stacks, go
 * @param maxUnprovenHandshakes  handshakes past the ClientHello at once of all sources that are not
 *                               known partners together (default 32 per core, at least 64): the
 *                               CPU a flood of complete ClientHellos can take from partners
 * @param proxyProtocol          reading the client's address from a trusted balancer's PROXY header
 *                               (default off)
 */
public record ListenerConfig(
        InetSocketAddress bind,
        int backlog,
        Duration handshakeTimeout,
        int maxHandshakesPerSource,
        int maxHandshakesTotal,
        int handshakeThreads,
        Map<FailureKind, Integer> weights,
        Duration refusalLogInterval,
        List<SourceKey> partners,
        Duration partnerWindow,
        int partnerReserve,
        Duration idleThreadTimeout,
        int maxUnprovenHandshakes,
        ProxyProtocolSettings proxyProtocol) {

    public ListenerConfig {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(handshakeTimeout, "handshake-timeout");
        Objects.requireNonNull(refusalLogInterval, "refusal-log-interval");
        Objects.requireNonNull(proxyProtocol, "proxy-protocol");
        if (backlog < 1) {
            throw new IllegalArgumentException("backlog must be at least 1, got " + backlog);
        }
        if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshake-timeout must be positive, got " + handshakeTimeout);
        }
        if (maxHandshakesPerSource < 1) {
            throw new IllegalArgumentException("max-handshakes-per-source must be at least 1, got " + maxHandshakesPerSource);
        }
        if (maxHandshakesTotal < maxHandshakesPerSource) {
            throw new IllegalArgumentException("max-handshakes-total must be at least max-handshakes-per-source, got "
                    + maxHandshakesTotal);
        }
        if (handshakeThreads < 1) {
            throw new IllegalArgumentException("handshake-threads must be at least 1, got " + handshakeThreads);
        }
        EnumMap<FailureKind, Integer> w = new EnumMap<>(FailureKind.class);
        for (FailureKind k : FailureKind.values()) {
            w.put(k, 1);
        }
        for (Map.Entry<FailureKind, Integer> e : weights.entrySet()) {
            if (e.getValue() == null || e.getValue() < 0) {
                throw new IllegalArgumentException("weights." + e.getKey().configName() + " must be 0 or more (0 = not counted)");
            }
            w.put(e.getKey(), e.getValue());
        }
        weights = Map.copyOf(w);
        partners = List.copyOf(partners);
        if (maxUnprovenHandshakes < 1) {
            throw new IllegalArgumentException("max-unproven-handshakes must be at least 1, got " + maxUnprovenHandshakes);
        }
        Objects.requireNonNull(idleThreadTimeout, "idle-thread-timeout");
        if (idleThreadTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("idle-thread-timeout must be at least 1 ms, got " + idleThreadTimeout);
        }
        Objects.requireNonNull(partnerWindow, "partner-window");
        if (partnerWindow.isNegative()) {
            throw new IllegalArgumentException("partner-window must not be negative, got " + partnerWindow);
        }
        if (partnerReserve < 0 || partnerReserve >= maxHandshakesTotal) {
            throw new IllegalArgumentException("partner-reserve must be 0 or more and below max-handshakes-total ("
                    + maxHandshakesTotal + "), got " + partnerReserve);
        }
    }

    /** The default partner reserve for a total cap: a quarter of it, at most 256. */
    public static int defaultPartnerReserve(int maxHandshakesTotal) {
        return Math.min(256, maxHandshakesTotal / 4);
    }

    /** The default max-unproven-handshakes: 32 per core, at least 64. */
    public static int defaultMaxUnprovenHandshakes() {
        return Math.max(64, 32 * Runtime.getRuntime().availableProcessors());
    }

    /** True if {@code source} lies in one of the configured partner ranges. */
    public boolean isListedPartner(InetAddress source) {
        for (SourceKey k : partners) {
            if (k.contains(source)) {
                return true;
            }
        }
        return false;
    }

    /** The weight of a failure kind; 0 means logged but not counted by the ban engine. */
    public int weight(FailureKind kind) {
        return weights.get(kind);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.bind = bind;
        b.backlog = backlog;
        b.handshakeTimeout = handshakeTimeout;
        b.maxHandshakesPerSource = maxHandshakesPerSource;
        b.maxHandshakesTotal = maxHandshakesTotal;
        b.handshakeThreads = handshakeThreads;
        b.weights.putAll(weights);
        b.refusalLogInterval = refusalLogInterval;
        b.partners = partners;
        b.partnerWindow = partnerWindow;
        b.partnerReserve = partnerReserve;
        b.idleThreadTimeout = idleThreadTimeout;
        b.maxUnprovenHandshakes = maxUnprovenHandshakes;
        b.proxyProtocol = proxyProtocol;
        return b;
    }

    public static final class Builder {
        private InetSocketAddress bind = new InetSocketAddress(InetAddress.getLoopbackAddress(), 6619);
        private int backlog = 256;
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private int maxHandshakesPerSource = 8;
        private int maxHandshakesTotal = 4096;
        private int handshakeThreads = 256;
        private final Map<FailureKind, Integer> weights = new EnumMap<>(FailureKind.class);
        private Duration refusalLogInterval = Duration.ofSeconds(60);
        private List<SourceKey> partners = List.of();
        private Duration partnerWindow = Duration.ofHours(1);
        private int partnerReserve = -1;
        private Duration idleThreadTimeout = Duration.ofSeconds(30);
        private int maxUnprovenHandshakes = defaultMaxUnprovenHandshakes();
        private ProxyProtocolSettings proxyProtocol = ProxyProtocolSettings.OFF;

        public Builder bind(InetSocketAddress v) {
            bind = v;
            return this;
        }

        public Builder backlog(int v) {
            backlog = v;
            return this;
        }

        public Builder handshakeTimeout(Duration v) {
            handshakeTimeout = v;
            return this;
        }

        public Builder maxHandshakesPerSource(int v) {
            maxHandshakesPerSource = v;
            return this;
        }

        public Builder maxHandshakesTotal(int v) {
            maxHandshakesTotal = v;
            return this;
        }

        public Builder handshakeThreads(int v) {
            handshakeThreads = v;
            return this;
        }

        public Builder weight(FailureKind kind, int weight) {
            weights.put(kind, weight);
            return this;
        }

        public Builder refusalLogInterval(Duration v) {
            refusalLogInterval = v;
            return this;
        }

        public Builder partners(List<SourceKey> v) {
            partners = v;
            return this;
        }

        public Builder partnerWindow(Duration v) {
            partnerWindow = v;
            return this;
        }

        /** Negative: the default for the total cap ({@link #defaultPartnerReserve}). */
        public Builder partnerReserve(int v) {
            partnerReserve = v;
            return this;
        }

        public Builder maxUnprovenHandshakes(int v) {
            maxUnprovenHandshakes = v;
            return this;
        }

        public Builder idleThreadTimeout(Duration v) {
            idleThreadTimeout = v;
            return this;
        }

        public Builder proxyProtocol(ProxyProtocolSettings v) {
            proxyProtocol = v;
            return this;
        }

        public ListenerConfig build() {
            return new ListenerConfig(bind, backlog, handshakeTimeout, maxHandshakesPerSource, maxHandshakesTotal,
                    handshakeThreads, weights, refusalLogInterval, partners, partnerWindow,
                    partnerReserve < 0 ? defaultPartnerReserve(maxHandshakesTotal) : partnerReserve, idleThreadTimeout,
                    maxUnprovenHandshakes, proxyProtocol);
        }
    }
}
