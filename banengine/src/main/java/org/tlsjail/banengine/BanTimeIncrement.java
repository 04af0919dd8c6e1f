package org.tlsjail.banengine;

import java.time.Duration;
import java.util.List;

/**
 * Fail2Ban's {@code bantime.increment}: repeat offenders get longer bans.
 *
 * @param enabled     off by default, as in Fail2Ban
 * @param factor      next ban = bantime * factor * 2^min(n, 20), n = earlier bans remembered
 * @param maxTime     cap on any incremented ban
 * @param multipliers if not empty, replaces the formula: ban n+1 = bantime * multipliers[min(n, last)]
 * @param remember    how long earlier bans of a source are remembered for counting n
 */
public record BanTimeIncrement(boolean enabled, double factor, Duration maxTime, List<Double> multipliers,
                               Duration remember) {

    public static final BanTimeIncrement OFF =
            new BanTimeIncrement(false, 1.0, Duration.ofDays(7), List.of(), Duration.ofDays(7));

    public BanTimeIncrement {
        multipliers = List.copyOf(multipliers);
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("jail.bantime-increment.factor must be a positive number, got " + factor);
        }
        if (maxTime.isNegative() || maxTime.isZero()) {
            throw new IllegalArgumentException("jail.bantime-increment.maxtime must be positive, got " + FailDuration.format(maxTime));
        }
        if (remember.isNegative() || remember.isZero()) {
            throw new IllegalArgumentException("jail.bantime-increment.remember must be positive, got " + FailDuration.format(remember));
        }
        for (Double m : multipliers) {
            if (m == null || !(m > 0) || Double.isInfinite(m)) {
                throw new IllegalArgumentException("jail.bantime-increment.multipliers must be positive numbers, got " + multipliers);
            }
        }
    }

    /** The length of ban number {@code earlierBans + 1}, in milliseconds. */
    long banMillis(long bantimeMillis, int earlierBans) {
        if (!enabled) {
            return bantimeMillis;
        }
        double scaled;
        if (!multipliers.isEmpty()) {
            scaled = bantimeMillis * multipliers.get(Math.min(earlierBans, multipliers.size() - 1));
        } else {
            scaled = bantimeMillis * factor * (double) (1L << Math.min(earlierBans, 20));
        }
        return (long) Math.min(scaled, (double) maxTime.toMillis());
    }
}
