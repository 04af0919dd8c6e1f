package org.tlsjail.banengine;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Run in a child JVM by {@link JournalCrashTest}: restores the journal, then bans and unbans as
 * fast as it can, printing each operation after it returned (so after its record was forced to
 * disk), until it is killed with SIGKILL.
 */
public final class JournalCrashChild {
    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Random random = new Random(Long.parseLong(args[1]));
        BanEngine engine = new BanEngine(JailConfig.defaults(), Clock.systemUTC());
        BanJournal journal = BanJournal.open(file, Clock.systemUTC());
        journal.restoreInto(engine);
        engine.addListener(journal);
        List<String> active = new ArrayList<>();
        engine.banned().forEach(r -> active.add(r.key().toString()));
        System.out.println("READY " + String.join(",", active));
        System.out.flush();
        while (true) {
            if (!active.isEmpty() && random.nextInt(3) == 0) {
                String victim = active.remove(random.nextInt(active.size()));
                System.out.println("TRY U " + victim);
                engine.unban(Addresses.parseLiteral(victim));
                System.out.println("DONE U " + victim);
            } else {
                String ip = "10." + random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(256);
                System.out.println("TRY B " + ip);
                engine.ban(Addresses.parseLiteral(ip), Duration.ofHours(2), "crash-test");
                if (!active.contains(ip)) {
                    active.add(ip);
                }
                System.out.println("DONE B " + ip);
            }
            System.out.flush();
        }
    }
}
