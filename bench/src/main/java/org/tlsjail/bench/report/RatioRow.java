package org.tlsjail.bench.report;

/**
 * One headline figure: a ratio against a baseline measured in the same run (or a count that has
 * a target). {@code met} is null where there is no target.
 */
public record RatioRow(String what, String value, String target, Boolean met) {
}
