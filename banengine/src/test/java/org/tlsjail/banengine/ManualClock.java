package org.tlsjail.banengine;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

/** A clock tests move by hand, so nothing ever sleeps. */
final class ManualClock implements InstantSource {
    private final AtomicLong millis;

    ManualClock(long startMillis) {
        millis = new AtomicLong(startMillis);
    }

    ManualClock() {
        this(1_764_480_000_000L); // 2025-11-30T05:20:00Z, any fixed moment will do
    }

    void advance(Duration d) {
        millis.addAndGet(d.toMillis());
    }

    void advanceMillis(long ms) {
        millis.addAndGet(ms);
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis.get());
    }
}
