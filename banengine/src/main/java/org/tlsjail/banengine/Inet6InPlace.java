package org.tlsjail.banengine;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * An IPv6 address's bits read from the address's own 16-byte array, where the only public way,
 * {@link Inet6Address#getAddress()}, copies them into a new one: the copy is the one thing
 * {@code isBanned} would otherwise allocate for a refused IPv6 connection from an address it has
 * not seen (a sprayer walking its /64).
 *
 * <p>Only where the JVM opens {@code java.net} to tlsjail ({@code --add-opens
 * java.base/java.net=ALL-UNNAMED}, which the launcher passes; an embedding application may). The
 * fields are found once through the supported {@link MethodHandles#privateLookupIn} and checked
 * against {@code getAddress()} on sample addresses before they are used; where the flag is absent,
 * the fields differ in a future JDK, or the check fails, {@link #AVAILABLE} is false and the
 * engine falls back to {@link Inet6Bits}'s memo (no copy for a retrying address, one for a new
 * one). {@code -Dtlsjail.inet6.in-place=false} turns it off. Only tlsjail's jars on the class
 * path (the unnamed module) are covered by {@code ALL-UNNAMED}; on the module path name the module.
 *
 * <p>The array is only read, never kept or written.
 */
final class Inet6InPlace {
    static final String PROPERTY = "tlsjail.inet6.in-place";
    private static final boolean TURNED_OFF = "false".equals(System.getProperty(PROPERTY));
    /** (Inet6Address)byte[]: the address's own array; null where not available. */
    private static final MethodHandle BYTES = TURNED_OFF ? null : find(MethodHandles.lookup());
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** Whether {@link #bytes} may be called (a constant once the class is initialized, so the JIT folds the test). */
    static final boolean AVAILABLE = BYTES != null;

    /** Why not {@link #AVAILABLE}, for the operator; empty if it is. */
    static final String WHY_NOT = TURNED_OFF ? "-D" + PROPERTY + "=false is set"
            : BYTES != null ? ""
            : !Inet6Address.class.getModule().isOpen("java.net", Inet6InPlace.class.getModule())
                    ? "the JVM does not open java.net to tlsjail (--add-opens java.base/java.net=ALL-UNNAMED, which the launcher passes)"
                    : "this JDK's Inet6Address does not keep its bytes where expected";

    private Inet6InPlace() {
    }

    /** The address's own array; only where {@link #AVAILABLE}. */
    static byte[] bytes(Inet6Address a) {
        try {
            return (byte[]) BYTES.invokeExact(a);
        } catch (Throwable t) { // a field getter throws nothing; kept from the signature only
            throw new IllegalStateException(t);
        }
    }

    /** The first 64 bits, big-endian, as {@code SourceKey} counts them. */
    static long hi(byte[] b) {
        return (long) LONGS.get(b, 0);
    }

    /** The last 64 bits. */
    static long lo(byte[] b) {
        return (long) LONGS.get(b, 8);
    }

    /**
     * The getter, or null if {@code caller} cannot reach the fields or they do not hold what
     * {@code getAddress()} returns. Package-private so a test can pass a lookup without access.
     */
    static MethodHandle find(MethodHandles.Lookup caller) {
        try {
            Class<?> holder = Class.forName("java.net.Inet6Address$Inet6AddressHolder");
            MethodHandle holderOf = MethodHandles.privateLookupIn(Inet6Address.class, caller)
                    .findGetter(Inet6Address.class, "holder6", holder);
            MethodHandle arrayOf = MethodHandles.privateLookupIn(holder, caller)
                    .findGetter(holder, "ipaddress", byte[].class);
            MethodHandle bytes = MethodHandles.filterReturnValue(holderOf, arrayOf)
                    .asType(MethodType.methodType(byte[].class, Inet6Address.class));
            byte[][] samples = {
                    InetAddress.getByName("2001:db8:1:2:3:4:5:6").getAddress(),
                    InetAddress.getByName("fe80::8:7:6:5").getAddress(), // with a scope id below
                    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 10, 1, 2, 3}, // IPv4-mapped
                    new byte[16]};
            for (int i = 0; i < samples.length; i++) {
                Inet6Address a = Inet6Address.getByAddress(null, samples[i], i == 1 ? 3 : -1);
                byte[] own = (byte[]) bytes.invokeExact(a);
                if (own == null || own.length != 16 || !Arrays.equals(own, a.getAddress())) {
                    return null;
                }
            }
            return bytes;
        } catch (Throwable notAvailable) { // no opens (IllegalAccessException), other fields, other JDK
            return null;
        }
    }
}
