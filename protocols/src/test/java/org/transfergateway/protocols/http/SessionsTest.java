package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class SessionsTest {

    /** A clock the test moves by hand. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-11-30T08:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
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

        void advance(Duration d) {
            now = now.plus(d);
        }
    }

    @Test
    void aSessionEndsAfterItsIdleTime() {
        ManualClock clock = new ManualClock();
        Sessions sessions = new Sessions(clock);
        Sessions.Session s = sessions.create("alice");
        clock.advance(Sessions.IDLE.minusSeconds(1));
        assertTrue(sessions.find(s.token()).isPresent());
        clock.advance(Sessions.IDLE.minusSeconds(1));
        assertTrue(sessions.find(s.token()).isPresent(), "each use starts the idle time again");
        clock.advance(Sessions.IDLE);
        assertTrue(sessions.find(s.token()).isEmpty());
        assertEquals(0, sessions.size());
    }

    @Test
    void aSessionInUseStillEndsAtItsAbsoluteLimit() {
        ManualClock clock = new ManualClock();
        Sessions sessions = new Sessions(clock);
        Sessions.Session s = sessions.create("alice");
        Duration step = Sessions.IDLE.dividedBy(2);
        for (Duration used = Duration.ZERO; used.plus(step).compareTo(Sessions.ABSOLUTE) < 0; used = used.plus(step)) {
            clock.advance(step);
            assertTrue(sessions.find(s.token()).isPresent(), "after " + used.plus(step));
        }
        clock.advance(step);
        assertTrue(sessions.find(s.token()).isEmpty());
    }

    @Test
    void tokensAreLongRandomAndDistinct() {
        Sessions sessions = new Sessions(Clock.systemUTC());
        Sessions.Session a = sessions.create("alice");
        Sessions.Session b = sessions.create("alice");
        assertTrue(a.token().matches("[A-Za-z0-9_-]{43}"), a.token());
        assertTrue(a.csrf().matches("[A-Za-z0-9_-]{43}"), a.csrf());
        assertNotEquals(a.token(), b.token());
        assertNotEquals(a.token(), a.csrf());
        assertTrue(a.csrfMatches(a.csrf()));
        assertFalse(a.csrfMatches(b.csrf()));
        assertFalse(a.csrfMatches(null));
        sessions.end(a.token());
        assertTrue(sessions.find(a.token()).isEmpty());
        assertTrue(sessions.find(b.token()).isPresent());
        assertTrue(sessions.find("unknown").isEmpty());
        assertTrue(sessions.find(null).isEmpty());
    }

    @Test
    void theCookieIsSecureOnlyOverTls() {
        assertEquals("tg_session=abc; Path=/; HttpOnly; SameSite=Strict", SessionCookie.set("abc", false));
        assertEquals("tg_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure", SessionCookie.set("abc", true));
        assertEquals("tg_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure", SessionCookie.clear(true));
    }

    @Test
    void theCookieIsFoundAmongOthers() {
        assertEquals("t0k", SessionCookie.token(new DefaultHttpHeaders().add("Cookie", "a=1; tg_session=t0k; b=2")));
        assertEquals("t0k", SessionCookie.token(new DefaultHttpHeaders().add("Cookie", "a=1").add("Cookie", "tg_session=t0k")));
        assertEquals(null, SessionCookie.token(new DefaultHttpHeaders().add("Cookie", "tg_sessionx=1")));
        assertEquals(null, SessionCookie.token(new DefaultHttpHeaders()));
    }
}
