package org.transfergateway.protocols.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.SecurityConfig;

/**
 * The login guard's shared part, with the ledger's side stood in for by a map: failures
 * are written through, a ban recorded elsewhere holds here from the next refresh (and
 * only from it: a check never reads the store), and a success is written only after
 * failures seen here. Also the in-memory count of sessions per user.
 */
class SharedLoginGuardTest {
    private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

    /** The store of the other nodes: what was written, and the bans it answers. */
    private static final class Store implements LoginGuard.SharedRecords {
        final List<String> writes = new ArrayList<>();
        final Map<String, Instant> bans = new ConcurrentHashMap<>();
        int reads;

        @Override
        public void failed(String address, int maxFailures, Duration window, Duration ban) {
            writes.add("failed " + address + " " + maxFailures + " " + window.toSeconds() + " " + ban.toSeconds());
        }

        @Override
        public void succeeded(String address) {
            writes.add("succeeded " + address);
        }

        @Override
        public Map<String, Instant> bans() {
            reads++;
            return Map.copyOf(bans);
        }
    }

    @Test
    void aBanRecordedOnAnotherNodeHoldsFromTheNextRefresh() throws Exception {
        LoginGuard guard = new LoginGuard(new SecurityConfig(Duration.ZERO, 3, Duration.ofMinutes(1)),
                Clock.fixed(NOW, ZoneOffset.UTC));
        Store store = new Store();
        guard.share(store);
        InetAddress client = InetAddress.getByName("127.0.0.7");
        InetAddress other = InetAddress.getByName("127.0.0.8");
        store.bans.put("127.0.0.7", NOW.plusSeconds(30));
        int reads = store.reads;
        assertTrue(guard.banRemaining(client).isZero(), "not before the refresh");
        assertEquals(reads, store.reads, "a check reads nothing");
        guard.refreshShared();
        assertEquals(Duration.ofSeconds(30), guard.banRemaining(client));
        assertTrue(guard.banRemaining(other).isZero());
        store.bans.clear();
        guard.refreshShared();
        assertTrue(guard.banRemaining(client).isZero());

        guard.succeeded(other); // no failures seen here: nothing to write
        guard.failed(other);
        guard.succeeded(other);
        assertEquals(List.of("failed 127.0.0.8 3 60 60", "succeeded 127.0.0.8"), store.writes);
    }

    @Test
    void sessionsPerUserAreCountedInMemoryUpToTheLimit() {
        UserSessions sessions = new UserSessions(2);
        UserSessions.Session a = sessions.open("alice", "ftp");
        UserSessions.Session b = sessions.open("alice", "http");
        assertNotNull(a);
        assertNotNull(b);
        assertNull(sessions.open("alice", "sftp"));
        assertNotNull(sessions.open("bob", "sftp"));
        a.close();
        a.close(); // twice: gives back one place only
        UserSessions.Session c = sessions.open("alice", "sftp");
        assertNotNull(c);
        assertNull(sessions.open("alice", "ftp"));
        UserSessions none = new UserSessions(0);
        for (int i = 0; i < 5; i++) {
            assertNotNull(none.open("alice", "ftp"));
        }
    }
}
