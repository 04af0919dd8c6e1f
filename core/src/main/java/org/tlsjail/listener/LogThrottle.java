package org.tlsjail.listener;

import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most one log line per interval about a kind of event a client can cause at will (a flood of
 * bad headers must not flood the operational log); the line says how many happened since the last.
 */
final class LogThrottle {
    private final InstantSource clock;
    private final long intervalMillis;
    private final AtomicLong sinceLog = new AtomicLong();
    private final AtomicLong nextLog = new AtomicLong();

    LogThrottle(InstantSource clock, Duration interval) {
        this.clock = clock;
        this.intervalMillis = interval.toMillis();
    }

    /** Counts one event; returns the events to report now (this one included), or 0 to stay quiet. */
    long count() {
        long n = sinceLog.incrementAndGet();
        long now = clock.millis();
        long next = nextLog.get();
        if (now >= next && nextLog.compareAndSet(next, now + intervalMillis)) {
            sinceLog.addAndGet(-n);
            return n;
        }
        return 0;
    }

    /** Text that came from the network, made safe for one log line. */
    static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(Math.min(s.length(), 160));
        for (int i = 0; i < s.length() && sb.length() < 160; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
