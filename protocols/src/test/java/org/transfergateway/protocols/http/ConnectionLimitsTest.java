package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * limits.max-connections and limits.max-connections-per-address on the HTTP listener,
 * with clients on several loopback addresses.
 */
class ConnectionLimitsTest {
    @TempDir
    Path dir;
    private HttpFixture gw;
    private final List<Socket> open = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        gw = new HttpFixture(dir, "  max-connections: 4\n  max-connections-per-address: 2\n");
    }

    @AfterEach
    void stop() throws IOException {
        for (Socket s : open) {
            s.close();
        }
        gw.close();
    }

    @Test
    void aThirdConnectionFromOneAddressIsRefusedWhileAnotherAddressIsServed() throws Exception {
        served("127.0.0.2");
        served("127.0.0.2");
        assertRefused("127.0.0.2", "this address has the most connections it may open (2)");
        served("127.0.0.3");
    }

    @Test
    void aConnectionOverTheTotalIsRefusedFromAnyAddress() throws Exception {
        served("127.0.0.2");
        served("127.0.0.2");
        served("127.0.0.3");
        served("127.0.0.4");
        assertRefused("127.0.0.5", "the gateway has the most connections it accepts (4)");
        assertEquals(4, gw.frontEnd.openConnections());
    }

    @Test
    void aClosedConnectionFreesItsPlace() throws Exception {
        Socket first = served("127.0.0.2");
        served("127.0.0.2");
        assertRefused("127.0.0.2", "this address has the most connections it may open (2)");
        assertEquals(2, gw.frontEnd.openConnections());
        first.close();
        for (int i = 0; i < 100 && gw.frontEnd.openConnections() > 1; i++) {
            Thread.sleep(20);
        }
        assertEquals(1, gw.frontEnd.openConnections());
        served("127.0.0.2");
    }

    /** Opens a connection from {@code from} and shows it is served, leaving it open. */
    private Socket served(String from) throws IOException {
        Socket s = gw.socketFrom(from);
        open.add(s);
        HttpFixture.send(s.getOutputStream(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
        assertEquals(200, r.status());
        assertEquals("ok", r.body().trim());
        return s;
    }

    private void assertRefused(String from, String why) throws IOException {
        try (Socket s = gw.socketFrom(from)) {
            InputStream in = s.getInputStream();
            HttpFixture.RawResponse r = HttpFixture.read(in);
            assertEquals(503, r.status());
            assertEquals("close", r.connection());
            assertEquals("{\"error\":\"too_many_connections\",\"message\":\"" + why + "\"}", r.body());
            assertEquals(-1, in.read());
        }
        assertTrue(gw.frontEnd.openConnections() <= 4);
    }
}
