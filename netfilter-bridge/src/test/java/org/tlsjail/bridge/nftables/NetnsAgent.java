package org.tlsjail.bridge.nftables;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A tiny program the nftables test runs inside its network namespaces (a JVM thread cannot
 * change namespace, a child process started with {@code ip netns exec} can).
 *
 * <ul>
 *   <li>{@code serve ADDRESS}: listens on an ephemeral port, prints {@code PORT n}, then
 *       {@code ACCEPT <peer>} for every connection it accepts (and closes it).</li>
 *   <li>{@code client}: reads lines {@code connect SRC DST PORT TIMEOUT_MS} from stdin and prints
 *       {@code CONNECTED}, {@code TIMEOUT}, {@code REFUSED} or {@code ERROR <text>} for each.</li>
 * </ul>
 */
public final class NetnsAgent {

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        if (args.length == 2 && args[0].equals("serve")) {
            try (ServerSocket server = new ServerSocket()) {
                server.bind(new InetSocketAddress(InetAddress.getByName(args[1]), 0), 50);
                out.println("PORT " + server.getLocalPort());
                while (true) {
                    try (Socket s = server.accept()) {
                        out.println("ACCEPT " + s.getInetAddress().getHostAddress());
                    }
                }
            }
        } else if (args.length == 1 && args[0].equals("client")) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            out.println("READY");
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.trim().split(" ");
                if (w.length != 5 || !w[0].equals("connect")) {
                    out.println("ERROR bad command");
                    continue;
                }
                out.println(connect(w[1], w[2], Integer.parseInt(w[3]), Integer.parseInt(w[4])));
            }
        } else {
            System.err.println("usage: serve ADDRESS | client");
            System.exit(2);
        }
    }

    private static String connect(String src, String dst, int port, int timeoutMs) {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(src), 0));
            s.connect(new InetSocketAddress(InetAddress.getByName(dst), port), timeoutMs);
            return "CONNECTED";
        } catch (SocketTimeoutException e) {
            return "TIMEOUT";
        } catch (ConnectException e) {
            return "REFUSED";
        } catch (Exception e) {
            return "ERROR " + e;
        }
    }
}
