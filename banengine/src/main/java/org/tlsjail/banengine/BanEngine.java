package org.tlsjail.banengine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ban decision: counts failed handshakes per source in a strict sliding window and bans a
 * source that reaches {@code maxretry} failures within {@code findtime} for {@code bantime}.
 *
 * <p>{@link #isBanned(InetAddress)} is the hot path (every accepted connection): lock-free and
 * allocation-free for an IPv4 source and for an IPv6 source seen recently. Everything that
 * changes bans runs under one lock, so bans, unbans and listener events are totally ordered. No I/O happens under that lock: a listener that
 * persists events (the journal) queues them there and the call that made them waits, after the
 * lock is released, until they are durable ({@link BanListener#awaitDurable()}). Time comes only
 * from the injected {@link InstantSource}.
 */
public final class BanEngine {
    private static final Logger LOG = LoggerFactory.getLogger(BanEngine.class);
    /** Inet4Address.hashCode() is the address itself in OpenJDK; checked once, not assumed. */
    private static final boolean INET4_HASH_IS_ADDRESS = inet4HashIsAddress();

    private final InstantSource clock;
    private final BanTable table = new BanTable();
    private final Inet6Bits inet6Bits;
    private final FailureTracker failures;
    private final List<BanListener> listeners = new CopyOnWriteArrayList<>();
    private final List<FailureListener> failureListeners = new CopyOnWriteArrayList<>();

    private volatile JailConfig config;
    private volatile List<IpRange> ignore;
    /**
     * The ignoreip entries inside a ban unit, per family ({@link JailConfig#ignoreRangesInsideUnits}):
     * looked at on a hit only, so a banned IPv4 source costs nothing more unless ipv4-prefix is below 32.
     */
    private volatile List<IpRange> ignoreInsideV4Units;
    private volatile List<IpRange> ignoreInsideV6Units;
    private volatile Cache<SourceKey, Integer> banHistory;

    // guarded by this
    private final Map<SourceKey, BanRecord> active = new HashMap<>();
    private final TreeSet<BanRecord> byEnd = new TreeSet<>(
            Comparator.comparingLong(BanRecord::untilMillis)
                    .thenComparingLong(r -> r.key().hi())
                    .thenComparingLong(r -> r.key().lo())
                    .thenComparingInt(r -> r.key().prefixLength()));
    private volatile int activeCount;

    private final LongAdder failureCount = new LongAdder();
    private final LongAdder banCount = new LongAdder();
    private final LongAdder unbanCount = new LongAdder();
    private final LongAdder droppedCount = new LongAdder();
    /** The coarse clock isBanned reads while the sweeper runs; 0 = not running, read the real one. */
    private volatile long coarseMillis;
    static final long COARSE_TICK_MILLIS = 4;
    /** Moves (under the lock) after every change that can make a source banned; see {@link #banEpoch()}. */
    private volatile long banEpoch;

    public BanEngine(JailConfig config, InstantSource clock) {
        this(config, clock, Inet6InPlace.AVAILABLE);
    }

    /** {@code inet6InPlace}: read IPv6 sources in place (only where {@link Inet6InPlace#AVAILABLE}); false for the memo. */
    BanEngine(JailConfig config, InstantSource clock, boolean inet6InPlace) {
        this.inet6Bits = new Inet6Bits(inet6InPlace);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.config = Objects.requireNonNull(config, "config");
        this.ignore = config.ignoreRanges();
        this.ignoreInsideV4Units = config.ignoreRangesInsideUnits(true);
        this.ignoreInsideV6Units = config.ignoreRangesInsideUnits(false);
        this.failures = new FailureTracker(config, clock.millis(), new java.security.SecureRandom().nextLong());
        this.banHistory = newBanHistory(config);
    }

    /**
     * Whether {@link #isBanned} reads IPv6 sources in place (the JVM opens {@code java.net} to
     * tlsjail and {@code -Dtlsjail.inet6.in-place=false} is not set), so it allocates nothing for any of them.
     */
    public static boolean readsIpv6InPlace() {
        return Inet6InPlace.AVAILABLE;
    }

    /** Why {@link #readsIpv6InPlace()} is false (the flag missing, turned off, another JDK); empty if it is true. */
    public static String whyIpv6NotReadInPlace() {
        return Inet6InPlace.WHY_NOT;
    }

    public JailConfig config() {
        return config;
    }

    /** Adds a listener for ban and unban events (see {@link BanListener} for the contract). */
    public void addListener(BanListener listener) {
        listeners.add(Objects.requireNonNull(listener));
    }

    public void removeListener(BanListener listener) {
        listeners.remove(listener);
    }

    /** Adds a listener told of every counted failure (see {@link FailureListener}). */
    public void addFailureListener(FailureListener listener) {
        failureListeners.add(Objects.requireNonNull(listener));
    }

    public void removeFailureListener(FailureListener listener) {
        failureListeners.remove(listener);
    }

    // ---------------------------------------------------------------- hot path

    /**
     * True if {@code source} is banned right now. Lock-free. Allocates nothing for an IPv4 source,
     * nor for an IPv6 one where the JVM opens {@code java.net} to tlsjail ({@code --add-opens
     * java.base/java.net=ALL-UNNAMED}, as the launcher runs it): its bits are then read from the
     * address's own array ({@code Inet6InPlace}). Without that flag, an IPv6 source's bits come
     * from a small memo of recently seen addresses ({@code Inet6Bits},
     * {@value Inet6Bits#SLOTS} entries, looked up by {@code hashCode}/{@code equals}, which read the
     * address without copying it): an address allocates nothing once it has been checked twice;
     * before that, or when a newer address took its slot, it costs the 16-byte copy
     * {@link InetAddress#getAddress()} makes (and on its second check a 32-byte entry). So a source
     * that keeps connecting from one address is checked without allocating; a sprayer using a fresh
     * address of its /64 per connection costs one copy per connection. An IPv4-mapped
     * {@code Inet6Address} ({@code ::ffff:a.b.c.d}) is the IPv4 source; a scope id is ignored.
     *
     * <p>While {@link #startSweeper()} runs, "now" is the coarse clock it keeps (read from the
     * injected clock every {@value #COARSE_TICK_MILLIS} ms) instead of a clock read per call: a
     * ban then reads as ended up to {@value #COARSE_TICK_MILLIS} ms after its end (more only if
     * that thread is starved of CPU), never before it. Without the sweeper, every hit reads the
     * injected clock.
     */
    public boolean isBanned(InetAddress source) {
        if (activeCount == 0) {
            return false;
        }
        JailConfig c = config;
        long until;
        // an ignoreip address is never banned, also when its unit is (a partner in an attacker's
        // /64 or ipv4-prefix block): only then, and only on a hit, is ignoreip looked at
        List<IpRange> inside;
        if (source instanceof Inet4Address && INET4_HASH_IS_ADDRESS) {
            until = table.untilOf(0, SourceKey.V4_MAPPED | (source.hashCode() & Masks.v4(c.ipv4Prefix()) & 0xFFFF_FFFFL));
            if (until == 0) {
                return false;
            }
            // on the address's bits: IpRange.contains would copy them (ipv4-prefix below 32 only)
            List<IpRange> v4Inside = ignoreInsideV4Units;
            if (!v4Inside.isEmpty() && Inet6Bits.isIn(v4Inside, 0, SourceKey.V4_MAPPED | (source.hashCode() & 0xFFFF_FFFFL), true)) {
                return false;
            }
            inside = List.of();
        } else if (source instanceof Inet6Address a6) {
            // the memo checks ignoreip on the bits it already has (Addresses.isIpv4 would copy them again)
            until = inet6Bits.untilOf(table, a6, c.ipv4Prefix(), c.ipv6Prefix(), ignoreInsideV4Units, ignoreInsideV6Units);
            inside = List.of();
        } else {
            SourceKey k = c.keyOf(source);
            until = table.untilOf(k.hi(), k.lo());
            inside = Addresses.isIpv4(source) ? ignoreInsideV4Units : ignoreInsideV6Units;
        }
        if (until == 0) {
            return false;
        }
        long now = coarseMillis;
        if (until <= (now != 0 ? now : clock.millis())) {
            return false;
        }
        return inside.isEmpty() || !isIn(inside, source);
    }

    private static boolean isIn(List<IpRange> ranges, InetAddress source) {
        for (IpRange r : ranges) {
            if (r.contains(source)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A number that changes after every ban (made, restored, applied or re-keyed by reconfigure),
     * after the ban is visible to {@link #isBanned}. A caller that read it before an isBanned check
     * need not check again while it stays the same: lets the listener re-check a waiting
     * connection only when some ban was made meanwhile.
     */
    public long banEpoch() {
        return banEpoch;
    }

    // ---------------------------------------------------------------- failures

    /** Counts one failure of {@code source} now. */
    public FailureOutcome recordFailure(InetAddress source) {
        return recordFailure(source, 1, "failure");
    }

    /**
     * Counts {@code weight} failures of {@code source} now; {@code reason} goes into the ban
     * record if this failure triggers a ban.
     */
    public FailureOutcome recordFailure(InetAddress source, int weight, String reason) {
        if (weight < 1) {
            throw new IllegalArgumentException("weight must be at least 1, got " + weight);
        }
        if (isIgnored(source)) {
            return FailureOutcome.IGNORED;
        }
        JailConfig c = config;
        SourceKey key = c.keyOf(source);
        long now = clock.millis();
        if (table.untilOf(key.hi(), key.lo()) > now) {
            return FailureOutcome.ALREADY_BANNED;
        }
        failureCount.add(weight);
        if (!failureListeners.isEmpty()) {
            tellFailure(key, weight, now);
        }
        if (!failures.add(key, weight, now, c)) {
            return FailureOutcome.COUNTED;
        }
        synchronized (this) {
            BanRecord current = active.get(key);
            if (current != null && current.untilMillis() > now) {
                failureCount.add(-weight); // another thread's failure banned it first: not counted
                return FailureOutcome.ALREADY_BANNED;
            }
            int earlier = earlierBans(key);
            long length = c.permanentBans() ? -1 : c.increment().banMillis(c.banTime().toMillis(), earlier);
            putBan(new BanRecord(key, Instant.ofEpochMilli(now), length < 0 ? null : Instant.ofEpochMilli(now + length),
                    earlier + 1, reason), now);
        }
        awaitDurable();
        return FailureOutcome.BANNED;
    }

    public boolean isIgnored(InetAddress source) {
        return isIn(ignore, source);
    }

    // ---------------------------------------------------------------- manual control

    /**
     * Bans {@code source} from now for {@code duration} ({@link FailDuration#PERMANENT} for ever);
     * a null duration uses the configured bantime, incremented for repeat offenders.
     *
     * @throws IllegalArgumentException if the source is in ignoreip
     */
    public BanRecord ban(InetAddress source, Duration duration, String reason) {
        if (isIgnored(source)) {
            throw new IllegalArgumentException(Addresses.format(source)
                    + " is in jail.ignoreip; remove it there before banning it");
        }
        JailConfig c = config;
        SourceKey key = c.keyOf(source);
        long now = clock.millis();
        BanRecord r;
        synchronized (this) {
            int earlier = earlierBans(key);
            long length;
            if (duration == null) {
                length = c.permanentBans() ? -1 : c.increment().banMillis(c.banTime().toMillis(), earlier);
            } else if (duration.isNegative()) {
                length = -1;
            } else if (duration.isZero()) {
                throw new IllegalArgumentException("ban duration must be positive or -1 (permanent)");
            } else if (duration.compareTo(FailDuration.LONGEST) > 0) {
                throw new IllegalArgumentException("ban duration must be at most 100 years; use -1 for permanent");
            } else {
                length = duration.toMillis();
            }
            r = new BanRecord(key, Instant.ofEpochMilli(now),
                    length < 0 ? null : Instant.ofEpochMilli(now + length), earlier + 1,
                    reason == null ? "manual" : reason);
            failures.forget(key);
            putBan(r, now);
        }
        awaitDurable();
        return r;
    }

    /** Lifts the ban covering {@code source}; false if there was none. */
    public boolean unban(InetAddress source) {
        return unban(config.keyOf(source));
    }

    /** Lifts the ban on {@code key} exactly as listed by {@link #banned()}; false if there was none. */
    public boolean unban(SourceKey key) {
        boolean lifted;
        synchronized (this) {
            BanRecord r = active.get(key);
            if (r == null) {
                return false;
            }
            boolean ended = r.untilMillis() <= clock.millis();
            removeBan(r, ended ? BanListener.UnbanCause.EXPIRED : BanListener.UnbanCause.MANUAL);
            lifted = !ended;
        }
        awaitDurable();
        return lifted;
    }

    /** Lifts every ban; returns how many. */
    public int unbanAll() {
        expireDue();
        List<BanRecord> all;
        synchronized (this) {
            all = new ArrayList<>(active.values());
            all.forEach(r -> removeBan(r, BanListener.UnbanCause.MANUAL));
        }
        awaitDurable();
        return all.size();
    }

    /**
     * Puts back a ban read from the journal at start, with its original times; no event is fired.
     * A ban that has ended by now is skipped; returns whether it was applied.
     */
    public synchronized boolean restore(BanRecord ban) {
        long now = clock.millis();
        if (ban.untilMillis() <= now) {
            return false;
        }
        BanRecord old = active.remove(ban.key());
        if (old != null) {
            byEnd.remove(old);
        }
        active.put(ban.key(), ban);
        byEnd.add(ban);
        table.put(ban.key().hi(), ban.key().lo(), ban.untilMillis());
        activeCount = active.size();
        banEpoch++; // under the lock: one writer at a time
        banHistory.asMap().merge(ban.key(), ban.banCount(), Math::max);
        enforceCap(now);
        return active.containsKey(ban.key());
    }

    /**
     * Applies a ban decided elsewhere (another node of a cluster) with its own times; listeners
     * are told as for any ban. Skipped (false) if it has ended by now, if its key is not a ban
     * unit of this configuration ({@link JailConfig#isBanUnit}), if the source is in ignoreip,
     * or if the ban in force on that key already lasts at least as long. Subject to
     * {@code max-bans} like every ban.
     */
    public boolean applyBan(BanRecord ban) {
        boolean applied;
        synchronized (this) {
            long now = clock.millis();
            if (ban.untilMillis() <= now || !config.isBanUnit(ban.key()) || isIgnoredKey(ban.key())) {
                return false;
            }
            BanRecord current = active.get(ban.key());
            if (current != null && current.untilMillis() > now && current.untilMillis() >= ban.untilMillis()) {
                return false;
            }
            failures.forget(ban.key());
            putBan(ban, now);
            applied = active.containsKey(ban.key());
        }
        awaitDurable();
        return applied;
    }

    /** The key's first address stands for it (a prefix key only exists when ipv4/ipv6-prefix is shorter). */
    private boolean isIgnoredKey(SourceKey key) {
        String text = key.toString();
        int slash = text.indexOf('/');
        return isIgnored(Addresses.parseLiteral(slash < 0 ? text : text.substring(0, slash)));
    }

    // ---------------------------------------------------------------- time

    /**
     * Ends the bans whose time is up and tells the listeners. {@link #startSweeper()} calls it
     * every 250 ms; tests call it after moving their clock.
     */
    public int expireDue() {
        long now = clock.millis();
        int n = 0;
        synchronized (this) {
            while (!byEnd.isEmpty() && byEnd.first().untilMillis() <= now) {
                removeBan(byEnd.first(), BanListener.UnbanCause.EXPIRED);
                n++;
            }
        }
        long findTime = config.findTime().toMillis();
        if (now - failures.lastSweep() >= FailureTracker.sweepInterval(findTime)) {
            failures.sweep(now, findTime); // outside the lock: a large sweep must not delay bans
        }
        return n;
    }

    /**
     * Starts a daemon thread that calls {@link #expireDue()} every 250 ms, so expiry events
     * reach listeners within a second of a ban's end even when no traffic arrives. Close the
     * returned handle to stop it.
     */
    public AutoCloseable startSweeper() {
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tlsjail-ban-sweeper");
            t.setDaemon(true);
            return t;
        });
        s.scheduleWithFixedDelay(() -> {
            try {
                expireDue();
            } catch (RuntimeException e) {
                LOG.warn("ban sweep failed", e);
            }
        }, 250, 250, TimeUnit.MILLISECONDS);
        // the coarse clock has a thread of its own: a long sweep must not make it lag
        ScheduledExecutorService tick = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tlsjail-ban-clock");
            t.setDaemon(true);
            return t;
        });
        coarseMillis = clock.millis();
        tick.scheduleAtFixedRate(() -> coarseMillis = clock.millis(), COARSE_TICK_MILLIS, COARSE_TICK_MILLIS,
                TimeUnit.MILLISECONDS);
        return () -> {
            tick.shutdownNow();
            coarseMillis = 0;
            s.shutdownNow();
        };
    }

    // ---------------------------------------------------------------- reconfiguration

    /**
     * Applies new settings, keeping active bans and failure histories. Bans made under another
     * prefix length keep their key; a changed {@code max-bans} applies at once (dropping the bans
     * that end soonest if the table is now over the cap).
     */
    public void reconfigure(JailConfig next) {
        synchronized (this) {
            reconfigureLocked(next);
        }
        awaitDurable();
    }

    private void reconfigureLocked(JailConfig next) {
        JailConfig previous = config;
        ignore = next.ignoreRanges();
        ignoreInsideV4Units = next.ignoreRangesInsideUnits(true);
        ignoreInsideV6Units = next.ignoreRangesInsideUnits(false);
        config = next;
        banEpoch++; // another prefix length can make an address fall under an existing ban
        failures.reconfigure(next);
        if (!previous.increment().remember().equals(next.increment().remember())
                || previous.maxTrackedKeys() != next.maxTrackedKeys()) {
            Cache<SourceKey, Integer> h = newBanHistory(next);
            h.putAll(banHistory.asMap());
            banHistory = h;
        }
        enforceCap(clock.millis());
    }

    // ---------------------------------------------------------------- views

    /** The active bans, soonest-ending first. */
    public synchronized List<BanRecord> banned() {
        long now = clock.millis();
        List<BanRecord> out = new ArrayList<>(byEnd.size());
        for (BanRecord r : byEnd) {
            if (r.untilMillis() > now) {
                out.add(r);
            }
        }
        return out;
    }

    /** The ban covering {@code source}, if any. */
    public synchronized BanRecord banOf(InetAddress source) {
        BanRecord r = active.get(config.keyOf(source));
        return r != null && r.untilMillis() > clock.millis() ? r : null;
    }

    /**
     * Failures of {@code source}'s ban unit within findtime of now (0 if it has none, is banned,
     * or its history was evicted). Takes one short per-segment lock of the failure table. The
     * listener holds a source that has not proven itself to {@code maxretry - failures} handshakes
     * in flight.
     */
    public int failures(InetAddress source) {
        JailConfig c = config;
        return failures.failures(c.keyOf(source), clock.millis(), c.findTime().toMillis());
    }

    public EngineStats stats() {
        return new EngineStats(failures.size(), activeCount, failureCount.sum(), banCount.sum(),
                unbanCount.sum(), failures.evictions(), droppedCount.sum());
    }

    // ---------------------------------------------------------------- internals (under lock)

    private void putBan(BanRecord r, long now) {
        SourceKey key = r.key();
        BanRecord previous = active.get(key);
        if (previous != null) {
            // ended but not yet swept (or replaced by a manual ban): close it first, so byEnd
            // never holds two records for one key and listeners see unban before the new ban
            removeBan(previous, previous.untilMillis() <= now ? BanListener.UnbanCause.EXPIRED
                    : BanListener.UnbanCause.MANUAL);
        }
        active.put(key, r);
        byEnd.add(r);
        table.put(key.hi(), key.lo(), r.untilMillis());
        activeCount = active.size();
        banEpoch++; // after the ban is visible: see banEpoch()
        banHistory.put(key, r.banCount());
        banCount.increment();
        fire(l -> l.onBan(r));
        enforceCap(now);
    }

    private void removeBan(BanRecord r, BanListener.UnbanCause cause) {
        active.remove(r.key());
        byEnd.remove(r);
        table.remove(r.key().hi(), r.key().lo());
        activeCount = active.size();
        unbanCount.increment();
        fire(l -> l.onUnban(r, cause));
    }

    /** Over max-bans: end what is already over, then drop the bans that end soonest (the newest included). */
    private void enforceCap(long now) {
        while (active.size() > config.maxBans()) {
            BanRecord victim = byEnd.first();
            if (victim.untilMillis() <= now) {
                removeBan(victim, BanListener.UnbanCause.EXPIRED);
            } else {
                droppedCount.increment();
                removeBan(victim, BanListener.UnbanCause.DROPPED);
            }
        }
    }

    private int earlierBans(SourceKey key) {
        Integer n = banHistory.getIfPresent(key);
        return n == null ? 0 : n;
    }

    private void tellFailure(SourceKey key, int weight, long now) {
        for (FailureListener l : failureListeners) {
            try {
                l.onFailure(key, weight, now);
            } catch (RuntimeException e) {
                LOG.warn("failure listener {} failed", l, e);
            }
        }
    }

    /** Outside the lock: lets listeners that persist events (the journal) finish before the call returns. */
    private void awaitDurable() {
        for (BanListener l : listeners) {
            try {
                l.awaitDurable();
            } catch (RuntimeException e) {
                LOG.warn("ban listener {} failed", l, e);
            }
        }
    }

    private void fire(java.util.function.Consumer<BanListener> event) {
        for (BanListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError) {
                    throw (VirtualMachineError) e;
                }
                LOG.warn("ban listener {} failed", l, e);
            }
        }
    }

    private Cache<SourceKey, Integer> newBanHistory(JailConfig c) {
        return Caffeine.newBuilder()
                .maximumSize(c.maxTrackedKeys())
                .expireAfterWrite(c.increment().remember())
                .ticker(() -> clock.millis() * 1_000_000L)
                .executor(Runnable::run)
                .build();
    }

    private static boolean inet4HashIsAddress() {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) 192, 0, 2, (byte) 201}).hashCode() == 0xC00002C9;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }
}
