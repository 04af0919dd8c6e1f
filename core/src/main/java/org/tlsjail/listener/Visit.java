package org.tlsjail.listener;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.tlsjail.banengine.SourceKey;

/**
 * One accepted connection's standing with {@link SourceAdmission}: its source, the ban unit that
 * source belongs to (all per-source limits count per unit, never per address inside it), whether
 * it is a known partner, and whether it holds a handshake slot. Mutable on purpose: a preamble
 * (a PROXY header) may replace the source before admission; {@link SourceAdmission} then counts
 * the replaced source. Touched by one thread at a time (accept, gate, then handshake thread).
 */
final class Visit {
    final long acceptedAtNanos;
    InetAddress source;
    /** The client's address and port when a balancer's PROXY header named them, else null (the TCP peer). */
    InetSocketAddress remote;
    SourceKey key;
    boolean partner;
    /** Holds a place in the per-source and total counts (parked or handshaking). */
    boolean held;
    /** Holds an in-flight handshake slot (past the first-flight gate). */
    boolean started;
    /**
     * The engine's {@code banEpoch()} read before this visit's last ban check: while it stays
     * the same no ban was made since, and the check need not run again.
     */
    long banEpoch;
    /** Started as a source that is not a known partner (counts against max-unproven-handshakes). */
    boolean startedUnproven;
    /** Nanoseconds the connection spent waiting for the client's ClientHello bytes at the gate. */
    long clientWaitNanos;

    Visit(InetAddress source, long acceptedAtNanos) {
        this.source = source;
        this.acceptedAtNanos = acceptedAtNanos;
    }
}
