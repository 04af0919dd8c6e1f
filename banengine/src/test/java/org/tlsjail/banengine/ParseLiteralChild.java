package org.tlsjail.banengine;

/**
 * Run in a child JVM by {@link AddressesTest} with {@code -Djdk.net.hosts.file}: prints what
 * {@link Addresses#parseLiteral} makes of each argument, or {@code refused}.
 */
public final class ParseLiteralChild {
    public static void main(String[] args) {
        for (String a : args) {
            String out;
            try {
                out = Addresses.format(Addresses.parseLiteral(a));
            } catch (IllegalArgumentException e) {
                out = "refused";
            }
            System.out.println(out);
        }
    }
}
