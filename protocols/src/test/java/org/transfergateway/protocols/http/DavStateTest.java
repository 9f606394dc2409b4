package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What WebDAV keeps in memory: locks (conflicts, timeouts, the bound per user) and dead properties (moves, the bound). */
class DavStateTest {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    @Test
    void anExclusiveLockConflictsWithAnyOtherAndSharedOnesWithEachOtherNot() throws Exception {
        DavLocks locks = new DavLocks(clock);
        locks.lock("u", "/a", false, false, "", 60);
        locks.lock("u", "/a", false, false, "", 60);
        assertEquals(423, assertThrows(DavStatus.class, () -> locks.lock("u", "/a", false, true, "", 60)).status().code());
        assertEquals(423, assertThrows(DavStatus.class, () -> locks.lock("u", "/", true, true, "", 60)).status().code());
        locks.lock("other", "/a", false, true, "", 60);
    }

    @Test
    void aLockEndsWithItsTimeoutAndADeepOneCoversWhatIsBelow() throws Exception {
        DavLocks locks = new DavLocks(clock);
        DavLocks.Lock l = locks.lock("u", "/d", true, true, "", 60);
        assertEquals(List.of(l), locks.covering("u", "/d/e/f"));
        assertEquals(423, assertThrows(DavStatus.class,
                () -> locks.permit("u", List.of(new DavLocks.Target("/d/e", false)), Set.of())).status().code());
        locks.permit("u", List.of(new DavLocks.Target("/d/e", false)), Set.of(l.token()));
        now = now.plus(Duration.ofSeconds(61));
        assertEquals(List.of(), locks.covering("u", "/d"));
        assertNull(locks.refresh("u", "/d", l.token(), 60));
        locks.permit("u", List.of(new DavLocks.Target("/d", true)), Set.of());
    }

    @Test
    void oneUserHoldsAtMostAThousandLocks() throws Exception {
        DavLocks locks = new DavLocks(clock);
        for (int i = 0; i < DavLocks.MAX_PER_USER; i++) {
            locks.lock("u", "/f" + i, false, true, "", 60);
        }
        assertEquals(507, assertThrows(DavStatus.class, () -> locks.lock("u", "/more", false, true, "", 60)).status().code());
    }

    @Test
    void deadPropertiesFollowAMoveOfAFolderAndStayWithinTheirBound() throws Exception {
        DavProperties props = new DavProperties(100);
        props.set("u", "/d/f", Map.of("{urn:z}a", "<a xmlns=\"urn:z\">1</a>"));
        props.copy("u", "/d", "/e", true);
        assertEquals(Map.of(), props.of("u", "/d/f"));
        assertEquals(Map.of("{urn:z}a", "<a xmlns=\"urn:z\">1</a>"), props.of("u", "/e/f"));
        assertEquals(507, assertThrows(DavStatus.class,
                () -> props.set("u", "/g", Map.of("{urn:z}b", "x".repeat(100)))).status().code());
        props.delete("u", "/e");
        props.set("u", "/g", Map.of("{urn:z}b", "x".repeat(80)));
        assertTrue(props.of("u", "/e/f").isEmpty());
    }
}
