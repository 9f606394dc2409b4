package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * What the dashboard reads: {@code /api/throughput} (per minute, protocol and direction,
 * summed over users for an admin, one's own for a user) and {@code /api/transfers} with
 * its filters and pages, as exact JSON over transfers recorded on a clock of the test's.
 */
class HttpHistoryTest {
    @TempDir
    static Path dir;
    static HttpFixture http;
    static final AtomicLong now = new AtomicLong();
    static final HttpClient client = HttpClient.newHttpClient();
    static Transfer t1;
    static Transfer t2;
    static Transfer t3;
    static Transfer t4;
    static Transfer t5;

    static void at(String time) {
        now.set(Instant.parse(time).toEpochMilli());
    }

    static Transfer run(TransferMeter m, String start, String end, String user, String protocol, Direction d, long bytes,
                        boolean ok) throws Exception {
        at(start);
        Transfer t = m.start(user, Protocol.of(protocol), d, "/" + user + "-" + bytes, "local");
        t.add(bytes);
        at(end);
        m.end(t, ok, ok && d == Direction.IN ? new StoredChange("local", user, bytes, 1) : null);
        return t;
    }

    @BeforeAll
    static void start() throws Exception {
        Clock clock = new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return Instant.ofEpochMilli(now.get());
            }
        };
        TransferMeter meter = new TransferMeter(Ledger.inMemory(), clock);
        t1 = run(meter, "2026-11-30T10:00:10Z", "2026-11-30T10:00:20Z", "alice", "ftp", Direction.IN, 100, true);
        t2 = run(meter, "2026-11-30T10:00:20Z", "2026-11-30T10:00:30Z", "bob", "ftp", Direction.IN, 200, false);
        t3 = run(meter, "2026-11-30T10:01:00Z", "2026-11-30T10:01:05Z", "alice", "http", Direction.OUT, 50, true);
        t4 = run(meter, "2026-11-30T10:01:05Z", "2026-11-30T10:01:10Z", "bob", "http", Direction.OUT, 70, true);
        t5 = run(meter, "2026-11-30T10:58:00Z", "2026-11-30T10:59:00Z", "alice", "ftp", Direction.IN, 5, true);
        at("2026-11-30T11:00:30Z");
        http = new HttpFixture(dir, meter);
    }

    @AfterAll
    static void stop() {
        http.close();
    }

    static HttpResponse<String> get(String user, String password, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(http.url(path)))
                .header("Authorization", HttpFixture.basic(user, password)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String admin(String path) throws Exception {
        HttpResponse<String> r = get("admin", "admin-secret", path);
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    static String alice(String path) throws Exception {
        HttpResponse<String> r = get("alice", "secret", path);
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    static String minute(String minute, String protocol, String direction, long bytes, long files, long failed) {
        return "{\"minute\":\"" + minute + "\",\"protocol\":\"" + protocol + "\",\"direction\":\"" + direction
                + "\",\"bytes\":" + bytes + ",\"files\":" + files + ",\"failed\":" + failed + "}";
    }

    static String minutes(String... m) {
        return "{\"minutes\":[" + String.join(",", m) + "]}";
    }

    @Test
    void anAdminGetsThroughputPerMinuteSummedOverUsers() throws Exception {
        String window = "/api/throughput?since=2026-11-30T10:00:00Z&until=2026-11-30T10:02:00Z";
        assertEquals(minutes(minute("2026-11-30T10:00:00Z", "ftp", "in", 300, 1, 1),
                minute("2026-11-30T10:01:00Z", "http", "out", 120, 2, 0)), admin(window));
        // since in the middle of a minute takes that minute whole
        assertEquals(admin(window), admin("/api/throughput?since=2026-11-30T10:00:45Z&until=2026-11-30T10:02:00Z"));
        assertEquals(minutes(minute("2026-11-30T10:00:00Z", "ftp", "in", 200, 0, 1),
                minute("2026-11-30T10:01:00Z", "http", "out", 70, 1, 0)), admin(window + "&user=bob"));
        assertEquals(minutes(), admin("/api/throughput?since=2026-11-30T09:00:00Z&until=2026-11-30T10:00:00Z"));
    }

    @Test
    void aUserGetsItsOwnThroughputOnly() throws Exception {
        String window = "/api/throughput?since=2026-11-30T10:00:00Z&until=2026-11-30T10:02:00Z";
        assertEquals(minutes(minute("2026-11-30T10:00:00Z", "ftp", "in", 100, 1, 0),
                minute("2026-11-30T10:01:00Z", "http", "out", 50, 1, 0)), alice(window));
        assertEquals(403, get("alice", "secret", window + "&user=bob").statusCode());
    }

    /** Now is 11:00:30: the last hour is the minutes from 10:01 to 11:00. */
    @Test
    void throughputDefaultsToTheLastHour() throws Exception {
        assertEquals(minutes(minute("2026-11-30T10:01:00Z", "http", "out", 120, 2, 0),
                minute("2026-11-30T10:59:00Z", "ftp", "in", 5, 1, 0)), admin("/api/throughput"));
        assertEquals(minutes(minute("2026-11-30T10:01:00Z", "http", "out", 50, 1, 0),
                minute("2026-11-30T10:59:00Z", "ftp", "in", 5, 1, 0)), alice("/api/throughput"));
    }

    @Test
    void aBadThroughputWindowIsRefused() throws Exception {
        HttpResponse<String> r = get("admin", "admin-secret", "/api/throughput?since=yesterday");
        assertEquals(400, r.statusCode());
        assertEquals(400, get("admin", "admin-secret",
                "/api/throughput?since=2026-11-30T10:05:00Z&until=2026-11-30T10:05:00Z").statusCode());
    }

    static String record(Transfer t, String outcome) {
        return "{\"id\":\"" + t.id() + "\",\"user\":\"" + t.user() + "\",\"protocol\":\"" + t.protocol().id()
                + "\",\"direction\":\"" + t.direction().id() + "\",\"path\":\"" + t.path() + "\",\"backend\":\"local\""
                + ",\"bytes\":" + t.bytes() + ",\"outcome\":\"" + outcome + "\",\"startedAt\":\"" + t.startedAt() + "\""
                + ",\"endedAt\":\"" + endOf(t) + "\"}";
    }

    static String endOf(Transfer t) {
        return t == t1 ? "2026-11-30T10:00:20Z" : t == t2 ? "2026-11-30T10:00:30Z" : t == t3 ? "2026-11-30T10:01:05Z"
                : t == t4 ? "2026-11-30T10:01:10Z" : "2026-11-30T10:59:00Z";
    }

    static String transfers(String next, Transfer... ts) {
        String list = List.of(ts).stream().map(t -> record(t, t == t2 ? "failed" : "completed"))
                .collect(Collectors.joining(","));
        return "{\"transfers\":[" + list + "]" + (next == null ? "" : ",\"next\":\"" + next + "\"") + "}";
    }

    @Test
    void transfersAreFilteredByProtocolOutcomeAndTime() throws Exception {
        assertEquals(transfers(null, t5, t1), alice("/api/transfers?protocol=ftp"));
        assertEquals(transfers(null, t2), admin("/api/transfers?outcome=failed"));
        assertEquals(transfers(null), alice("/api/transfers?outcome=failed"));
        assertEquals(transfers(null, t3), admin("/api/transfers?user=alice&protocol=http&outcome=completed"));
        assertEquals(transfers(null, t4, t3), admin("/api/transfers?since=2026-11-30T10:01:00Z&until=2026-11-30T10:58:00Z"));
        assertEquals(400, get("admin", "admin-secret", "/api/transfers?outcome=maybe").statusCode());
        assertEquals(400, get("admin", "admin-secret", "/api/transfers?protocol=f_t_p").statusCode());
        assertEquals(403, get("alice", "secret", "/api/transfers?user=bob&outcome=failed").statusCode());
    }

    @Test
    void transfersAreReadInPagesAfterTheLastId() throws Exception {
        assertEquals(transfers(t4.id(), t5, t4), admin("/api/transfers?limit=2"));
        assertEquals(transfers(t2.id(), t3, t2), admin("/api/transfers?limit=2&before=" + t4.id()));
        assertEquals(transfers(null, t1), admin("/api/transfers?limit=2&before=" + t2.id()));
        // a user's pages hold its own transfers only
        assertEquals(transfers(t3.id(), t5, t3), alice("/api/transfers?limit=2"));
        assertEquals(transfers(null, t1), alice("/api/transfers?limit=2&before=" + t3.id()));
        assertEquals(transfers(null), admin("/api/transfers?before=no-such-id"));
    }
}
