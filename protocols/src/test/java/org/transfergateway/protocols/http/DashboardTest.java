package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard's shell driven as a browser would: pages, login, session cookie, CSRF token, logout. */
class DashboardTest {
    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    static final String FORM = "application/x-www-form-urlencoded";

    @TempDir
    static Path dir;
    static HttpFixture gw;
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        gw = HttpFixture.withSections(dir, "security: {login-failure-delay: 200ms, max-login-failures: 100, ban-duration: 1m}\n");
    }

    @AfterAll
    static void stop() {
        gw.close();
    }

    /** A browser: keeps cookies, follows no redirect (the tests look at each one). */
    static HttpClient browser() {
        return HttpClient.newBuilder().cookieHandler(new CookieManager())
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(10)).build();
    }

    static HttpResponse<String> get(HttpClient client, HttpFixture on, String path, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(on.url(path))).timeout(Duration.ofSeconds(10)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> send(HttpClient client, HttpFixture on, String method, String path, String body,
                                     String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(on.url(path))).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> login(HttpClient client, HttpFixture on, String user, String password)
            throws IOException, InterruptedException {
        return send(client, on, "POST", "/ui/login", "user=" + user + "&password=" + password, "Content-Type", FORM);
    }

    /** A browser logged in as {@code user}. */
    static HttpClient loggedIn(String user, String password) throws IOException, InterruptedException {
        HttpClient b = browser();
        HttpResponse<String> r = login(b, gw, user, password);
        assertEquals(303, r.statusCode(), r.body());
        assertEquals("/ui/", r.headers().firstValue("Location").orElseThrow());
        return b;
    }

    static JsonNode session(HttpClient browser) throws IOException, InterruptedException {
        HttpResponse<String> r = get(browser, gw, "/ui/session");
        assertEquals(200, r.statusCode(), r.body());
        return json.readTree(r.body());
    }

    @Test
    void theOverviewWithoutASessionRedirectsToTheLoginPage() throws Exception {
        HttpResponse<String> r = get(browser(), gw, "/ui/");
        assertEquals(303, r.statusCode());
        assertEquals("/ui/login", r.headers().firstValue("Location").orElseThrow());
        assertEquals(CSP, r.headers().firstValue("Content-Security-Policy").orElseThrow());

        HttpResponse<String> bare = get(browser(), gw, "/ui");
        assertEquals(303, bare.statusCode());
        assertEquals("/ui/", bare.headers().firstValue("Location").orElseThrow());

        HttpResponse<String> page = get(browser(), gw, "/ui/login");
        assertEquals(200, page.statusCode());
        assertEquals("text/html; charset=utf-8", page.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(page.body().contains("action=\"/ui/login\""), page.body());
    }

    @Test
    void aLoginSetsAStrictHttpOnlyCookieAndOpensTheOverview() throws Exception {
        HttpClient b = browser();
        HttpResponse<String> r = login(b, gw, "alice", "secret");
        assertEquals(303, r.statusCode(), r.body());
        assertEquals("/ui/", r.headers().firstValue("Location").orElseThrow());
        List<String> cookies = r.headers().allValues("Set-Cookie");
        assertEquals(1, cookies.size(), cookies.toString());
        assertTrue(cookies.get(0).matches("tg_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict"), cookies.get(0));

        HttpResponse<String> overview = get(b, gw, "/ui/");
        assertEquals(200, overview.statusCode());
        assertEquals("text/html; charset=utf-8", overview.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(overview.body().contains("data-page=\"overview\""), overview.body());
        assertEquals(CSP, overview.headers().firstValue("Content-Security-Policy").orElseThrow());
        assertEquals("nosniff", overview.headers().firstValue("X-Content-Type-Options").orElseThrow());
        assertEquals("same-origin", overview.headers().firstValue("Referrer-Policy").orElseThrow());

        JsonNode s = session(b);
        assertEquals("alice", s.get("user").asText());
        assertFalse(s.get("admin").asBoolean());
        assertTrue(s.get("csrf").asText().matches("[A-Za-z0-9_-]{43}"), s.toString());
        assertTrue(session(loggedIn("admin", "admin-secret")).get("admin").asBoolean());
    }

    @Test
    void aWrongPasswordGoesBackToTheLoginPageAfterTheFailureDelay() throws Exception {
        HttpClient b = browser();
        long start = System.nanoTime();
        HttpResponse<String> r = login(b, gw, "alice", "wrong");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(303, r.statusCode());
        assertEquals("/ui/login?failed", r.headers().firstValue("Location").orElseThrow());
        assertTrue(r.headers().allValues("Set-Cookie").isEmpty());
        assertTrue(tookMillis >= gw.config.security().loginFailureDelay().toMillis(), tookMillis + " ms");
        assertEquals(303, get(b, gw, "/ui/").statusCode());
        HttpResponse<String> noSession = get(b, gw, "/ui/session");
        assertEquals(401, noSession.statusCode());
        // The page handles a lost session: no Basic challenge, which would open the browser's dialog.
        assertTrue(noSession.headers().firstValue("WWW-Authenticate").isEmpty());
    }

    @Test
    void aLoginFromAnotherSiteIsRefused() throws Exception {
        HttpClient b = browser();
        HttpResponse<String> r = send(b, gw, "POST", "/ui/login", "user=alice&password=secret",
                "Content-Type", FORM, "Origin", "http://evil.example");
        assertEquals(403, r.statusCode(), r.body());
        assertTrue(r.headers().allValues("Set-Cookie").isEmpty());

        HttpResponse<String> same = send(b, gw, "POST", "/ui/login", "user=alice&password=secret",
                "Content-Type", FORM, "Origin", "http://127.0.0.1:" + gw.address.getPort());
        assertEquals(303, same.statusCode(), same.body());
        assertEquals("/ui/", same.headers().firstValue("Location").orElseThrow());
    }

    @Test
    void aSessionSeesItsOwnStatisticsAndAnAdminSeesEveryone() throws Exception {
        HttpClient basic = HttpClient.newHttpClient();
        for (String[] u : new String[][] {{"alice", "secret"}, {"admin", "admin-secret"}}) {
            HttpResponse<String> put = send(basic, gw, "PUT", "/files/stats-" + u[0] + ".txt", "12345",
                    "Authorization", HttpFixture.basic(u[0], u[1]));
            assertTrue(put.statusCode() == 201 || put.statusCode() == 200, put.body());
        }

        HttpResponse<String> own = get(loggedIn("alice", "secret"), gw, "/api/stats");
        assertEquals(200, own.statusCode(), own.body());
        JsonNode byUser = json.readTree(own.body()).get("transferred").get("byUser");
        assertEquals(List.of("alice"), fieldNames(byUser));

        HttpResponse<String> all = get(loggedIn("admin", "admin-secret"), gw, "/api/stats");
        assertEquals(200, all.statusCode(), all.body());
        List<String> everyone = fieldNames(json.readTree(all.body()).get("transferred").get("byUser"));
        assertTrue(everyone.containsAll(List.of("alice", "admin")), everyone.toString());

        HttpResponse<String> metrics = get(loggedIn("alice", "secret"), gw, "/metrics");
        assertEquals(403, metrics.statusCode());
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new java.util.ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    @Test
    void aChangeWithTheCookieNeedsTheSessionsCsrfToken() throws Exception {
        HttpClient b = loggedIn("alice", "secret");
        String csrf = session(b).get("csrf").asText();

        HttpResponse<String> none = send(b, gw, "PUT", "/files/csrf.txt", "hello");
        assertEquals(403, none.statusCode(), none.body());
        assertTrue(none.body().contains("X-CSRF-Token"), none.body());
        HttpResponse<String> wrong = send(b, gw, "PUT", "/files/csrf.txt", "hello", "X-CSRF-Token", csrf + "x");
        assertEquals(403, wrong.statusCode(), wrong.body());
        HttpResponse<String> deleteNone = send(b, gw, "DELETE", "/files/csrf.txt", "");
        assertEquals(403, deleteNone.statusCode(), deleteNone.body());

        HttpResponse<String> right = send(b, gw, "PUT", "/files/csrf.txt", "hello", "X-CSRF-Token", csrf);
        assertEquals(201, right.statusCode(), right.body());
        HttpResponse<String> read = get(b, gw, "/files/csrf.txt");
        assertEquals("hello", read.body());

        // Another session's token is no good either.
        String other = session(loggedIn("alice", "secret")).get("csrf").asText();
        assertNotEquals(csrf, other);
        assertEquals(403, send(b, gw, "DELETE", "/files/csrf.txt", "", "X-CSRF-Token", other).statusCode());
        assertEquals(204, send(b, gw, "DELETE", "/files/csrf.txt", "", "X-CSRF-Token", csrf).statusCode());
    }

    @Test
    void logoutNeedsTheTokenAndEndsTheSession() throws Exception {
        HttpClient b = browser();
        HttpResponse<String> in = login(b, gw, "alice", "secret");
        String cookie = in.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
        String csrf = session(b).get("csrf").asText();

        assertEquals(403, send(b, gw, "POST", "/ui/logout", "").statusCode());
        assertEquals(200, get(b, gw, "/ui/").statusCode(), "a refused logout leaves the session");

        HttpResponse<String> out = send(b, gw, "POST", "/ui/logout", "", "X-CSRF-Token", csrf);
        assertEquals(204, out.statusCode(), out.body());
        assertEquals("tg_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
                out.headers().firstValue("Set-Cookie").orElseThrow());

        // The old cookie, sent by a client that did not forget it, no longer works.
        HttpClient plain = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        assertEquals(303, get(plain, gw, "/ui/", "Cookie", cookie).statusCode());
        assertEquals(401, get(plain, gw, "/api/stats", "Cookie", cookie).statusCode());
        assertEquals(401, get(plain, gw, "/ui/session", "Cookie", cookie).statusCode());
    }

    @Test
    void staticFilesHaveTheirTypesAndETags() throws Exception {
        HttpClient b = browser();
        for (String[] f : new String[][] {{"/ui/ui.css", "text/css; charset=utf-8"},
                {"/ui/ui.js", "text/javascript; charset=utf-8"}, {"/ui/login.html", "text/html; charset=utf-8"}}) {
            HttpResponse<String> r = get(b, gw, f[0]);
            assertEquals(200, r.statusCode(), f[0]);
            assertEquals(f[1], r.headers().firstValue("Content-Type").orElseThrow(), f[0]);
            assertEquals(CSP, r.headers().firstValue("Content-Security-Policy").orElseThrow(), f[0]);
            assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElseThrow(), f[0]);
            assertEquals("no-cache", r.headers().firstValue("Cache-Control").orElseThrow(), f[0]);
            String etag = r.headers().firstValue("ETag").orElseThrow();
            HttpResponse<String> again = get(b, gw, f[0], "If-None-Match", etag);
            assertEquals(304, again.statusCode(), f[0]);
            assertEquals("", again.body());
        }
        assertEquals(404, get(b, gw, "/ui/nothing.js").statusCode());
        assertEquals(404, get(b, gw, "/ui/ui").statusCode());
    }

    /** Our own dashboard files (not uPlot's), by name, from the classpath the gateway serves them from. */
    static Map<String, String> ownFiles() throws Exception {
        Path ui = Path.of(DashboardTest.class.getClassLoader().getResource("ui/index.html").toURI()).getParent();
        Map<String, String> files = new TreeMap<>();
        try (Stream<Path> all = Files.list(ui)) {
            for (Path f : all.filter(Files::isRegularFile).toList()) {
                files.put(f.getFileName().toString(), Files.readString(f));
            }
        }
        assertTrue(files.keySet().containsAll(List.of("index.html", "login.html", "ui.css", "ui.js")), files.keySet().toString());
        return files;
    }

    @Test
    void everyFileTheOverviewNamesIsServed() throws Exception {
        HttpClient b = loggedIn("alice", "secret");
        String html = get(b, gw, "/ui/").body();
        Matcher m = Pattern.compile("(?:src|href)=\"(/ui/[^\"]*)\"").matcher(html);
        List<String> named = new java.util.ArrayList<>();
        while (m.find()) {
            named.add(m.group(1));
        }
        assertTrue(named.containsAll(List.of("/ui/ui.js", "/ui/ui.css", "/ui/lib/uplot/uPlot.iife.min.js",
                "/ui/lib/uplot/uPlot.min.css")), named.toString());
        for (String path : named) {
            assertEquals(200, get(b, gw, path).statusCode(), path);
        }
    }

    @Test
    void noPageHasAnInlineScriptOrStyleAndNoFileNamesAnotherOrigin() throws Exception {
        for (Map.Entry<String, String> f : ownFiles().entrySet()) {
            String name = f.getKey();
            String text = f.getValue();
            assertFalse(text.contains("http://") || text.contains("https://"), name + " names another origin");
            if (name.endsWith(".html")) {
                assertFalse(text.contains("<style"), name);
                assertFalse(text.contains("style="), name);
                assertFalse(text.matches("(?s).*<script(?![^>]*\\bsrc=)[^>]*>.*"), name);
                assertFalse(text.matches("(?s).*<script[^>]*>[^<]+</script>.*"), name);
                assertFalse(text.matches("(?s).*\\son[a-z]+=.*"), name);
            }
        }
    }

    /** The names a browser test of the pages relies on. */
    @Test
    void theOverviewKeepsTheNamesItsBrowserTestUses() throws Exception {
        String html = ownFiles().get("index.html");
        for (String view : List.of("overview", "transfers", "users", "backends", "history")) {
            assertTrue(html.contains("href=\"#" + view + "\""), view);
            assertTrue(html.contains("id=\"view-" + view + "\""), view);
        }
        for (String id : List.of("throughput-chart", "active-rows", "active-empty", "user-rows", "backend-rows", "pool-rows",
                "history-rows", "history-filter", "history-older", "history-newest", "live-status", "logout", "who",
                "bytes-in", "bytes-out", "files-in", "files-out", "failed", "stored-bytes", "stored-objects", "active", "since")) {
            assertTrue(html.contains("id=\"" + id + "\""), id);
        }
    }

    @Test
    void pathsThatClimbOutOfTheDashboardAreRefused() throws Exception {
        for (String path : List.of("/ui/../pom.xml", "/ui/%2e%2e/pom.xml", "/ui/..%2fpom.xml", "/ui/%2e%2e%2fpom.xml",
                "/ui/lib/uplot/../../../META-INF/MANIFEST.MF", "/ui/lib/uplot/%2e%2e/package.json",
                "/ui/./ui.js", "/ui//ui.js", "/ui/.hidden.js", "/ui/ui.js%00.css",
                "/ui/org/transfergateway/protocols/http/Dashboard.class", "/ui/../ui/ui.js")) {
            try (var s = gw.socket()) {
                HttpFixture.send(s.getOutputStream(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                int status = HttpFixture.read(s.getInputStream()).status();
                assertTrue(status == 404 || status == 400, path + " gave " + status);
            }
        }
    }

    @Test
    void uPlotIsServedFromTheClasspath() throws Exception {
        HttpResponse<String> js = get(browser(), gw, "/ui/lib/uplot/uPlot.iife.min.js");
        assertEquals(200, js.statusCode());
        assertEquals("text/javascript; charset=utf-8", js.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(js.body().length() > 10_000 && js.body().contains("uPlot"), "uPlot's code");
        assertTrue(js.headers().firstValue("Cache-Control").orElseThrow().contains("max-age"));
        HttpResponse<String> css = get(browser(), gw, "/ui/lib/uplot/uPlot.min.css");
        assertEquals(200, css.statusCode());
        assertEquals("text/css; charset=utf-8", css.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(404, get(browser(), gw, "/ui/lib/uplot/package.json").statusCode());
    }

    @Test
    void loginFailuresOnTheFormAndWithBasicCountTowardTheSameBan(@TempDir Path own) throws Exception {
        try (HttpFixture strict = HttpFixture.withSections(own,
                "security: {login-failure-delay: 50ms, max-login-failures: 3, ban-duration: 10m}\n")) {
            int max = strict.config.security().maxLoginFailures();
            HttpClient b = browser();
            HttpClient basic = HttpClient.newHttpClient();
            // All but one failure with Basic, the last one on the form.
            for (int i = 0; i < max - 1; i++) {
                assertEquals(401, get(basic, strict, "/api/stats", "Authorization", HttpFixture.basic("alice", "no"))
                        .statusCode());
            }
            HttpResponse<String> last = login(b, strict, "alice", "wrong");
            assertEquals(303, last.statusCode());
            assertEquals("/ui/login?banned", last.headers().firstValue("Location").orElseThrow());

            HttpResponse<String> right = login(b, strict, "alice", "secret");
            assertEquals(303, right.statusCode());
            assertEquals("/ui/login?banned", right.headers().firstValue("Location").orElseThrow());
            assertTrue(right.headers().allValues("Set-Cookie").isEmpty());
            assertEquals(429, get(basic, strict, "/api/stats", "Authorization", HttpFixture.basic("alice", "secret"))
                    .statusCode());
        }
    }

    @Test
    void formFailuresAloneBanTheAddressForBasicToo(@TempDir Path own) throws Exception {
        try (HttpFixture strict = HttpFixture.withSections(own,
                "security: {login-failure-delay: 50ms, max-login-failures: 3, ban-duration: 10m}\n")) {
            int max = strict.config.security().maxLoginFailures();
            HttpClient b = browser();
            for (int i = 0; i < max; i++) {
                Optional<String> to = login(b, strict, "alice", "wrong" + i).headers().firstValue("Location");
                assertEquals(i < max - 1 ? "/ui/login?failed" : "/ui/login?banned", to.orElseThrow());
            }
            assertEquals(429, get(HttpClient.newHttpClient(), strict, "/api/stats",
                    "Authorization", HttpFixture.basic("alice", "secret")).statusCode());
        }
    }
}
