// Proves that the dashboard (/ui/) works in a real browser, headless Chromium driven by
// Selenium: /ui/ without a session leads to the login page, a wrong password is told, an
// admin's login shows the totals, uploads in progress over HTTP and FTP show as active and
// then count exactly, each view opens, logout ends the session, a normal user sees its own
// figures only, and no page logs a Content-Security-Policy violation or a script error.
// It saves a screenshot of each page under target/screenshots/ (and, with
// -Ddashboard.screenshots=DIR, also in DIR).
package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.transfergateway.config.ConfigLoader;

/**
 * The dashboard in headless Chromium. One browser and one gateway for the class; one test
 * walks the scenario in order, a method per page or view.
 * Checked: login and its failure, the live list of transfers in progress, the overview's
 * totals exact to the byte (in the titles) and updated live, the throughput chart gaining
 * the finished uploads, users, backends, history, a phone-sized window, logout, and that
 * a user sees only its own figures; the console shows no error (a CSP violation is one).
 */
class DashboardBrowserTest {
    private static final String ADMIN = "admin";
    private static final String ADMIN_PASSWORD = "admin-secret";
    private static final String DEMO = "demo";
    private static final String DEMO_PASSWORD = "demo-secret";
    /** Sizes of the two uploads: the first chunk is sent, then each waits to be let go. */
    private static final int HTTP_SIZE = 200_000;
    private static final int FTP_SIZE = 150_000;
    private static final int FIRST_CHUNK = 64 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String[] VIEWS = {"overview", "transfers", "users", "backends", "history"};

    @TempDir
    static Path dir;
    static Gateway gateway;
    static String url;
    static ChromeDriverService service;
    static ChromeDriver driver;
    static Path profile;
    /**
     * Quiet: Selenium looks for DevTools classes matching the browser's version, which the
     * test does not use (its one CDP command goes through chromedriver).
     */
    private static final java.util.logging.Logger CDP_VERSION_LOG = java.util.logging.Logger.getLogger(
            "org.openqa.selenium.devtools.CdpVersionFinder");
    /** Console entries of level SEVERE, collected as the pages go. */
    static final List<String> severe = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        String chromedriver = onPath("chromedriver", "/usr/bin/chromedriver");
        String chromium = onPath("chromium", "/usr/bin/chromium");
        RealClients.require(chromedriver, "--version");
        RealClients.require(chromium, "--version");

        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 55200-55220}
                http: {port: 0}
                security: {login-failure-delay: 100ms}
                cluster: {node-id: gw-1}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: %s, password: %s, admin: true}
                  - {name: %s, password: %s, quota: {bytes: 1MiB, files: 10}}
                ledger: {url: %s}
                """.formatted(dir.resolve("files"), ADMIN, ADMIN_PASSWORD, DEMO, DEMO_PASSWORD, dir.resolve("ledger"))));
        url = "http://127.0.0.1:" + gateway.httpAddress().getPort();

        service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(chromedriver))
                .usingAnyFreePort()
                .withEnvironment(Map.of("SE_AVOID_STATS", "true"))
                .build();
        profile = Files.createTempDirectory("dashboard-chromium-");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US",
                "--user-data-dir=" + profile);
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability(ChromeOptions.LOGGING_PREFS, logs);
        CDP_VERSION_LOG.setLevel(Level.OFF);
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(WAIT);
    }

    @AfterAll
    static void stop() throws IOException {
        try {
            if (driver != null) {
                driver.quit();
            }
        } finally {
            if (service != null) {
                service.stop();
            }
            if (gateway != null) {
                gateway.close();
            }
            if (profile != null) {
                deleteTree(profile);
            }
        }
    }

    @Test
    void theDashboardInABrowser() throws Exception {
        loginPage();
        login(ADMIN, ADMIN_PASSWORD);
        assertEquals(ADMIN + " (admin)", text("who"));
        waitForTotal("files-in", 0);
        screenshot("overview-empty");

        try (SlowHttpUpload put = new SlowHttpUpload(ADMIN, ADMIN_PASSWORD, "/files/slow-http.bin", HTTP_SIZE);
             SlowFtpUpload stor = new SlowFtpUpload(DEMO, DEMO_PASSWORD, "slow-ftp.bin", FTP_SIZE)) {
            put.start();
            stor.start();
            activeTransfers(2);
            put.finish();
            stor.finish();
        }
        activeTransfers(0);
        waitForTotal("files-in", 2);
        waitForTotal("bytes-in", HTTP_SIZE + FTP_SIZE);
        waitForTotal("stored-bytes", HTTP_SIZE + FTP_SIZE);
        waitForTotal("stored-objects", 2);
        waitForTotal("failed", 0);
        overview();
        users(true);
        backends(true);
        history(2);
        dark();
        phone();

        logout();

        login(DEMO, DEMO_PASSWORD);
        assertEquals(DEMO, text("who"));
        waitForTotal("files-in", 1);
        waitForTotal("bytes-in", FTP_SIZE);
        waitForTotal("stored-bytes", FTP_SIZE);
        waitForTotal("stored-objects", 1);
        users(false);
        backends(false);
        history(1);
        logout();

        collectConsole();
        assertTrue(severe.isEmpty(), "the browser's console has errors:\n" + String.join("\n", severe));
    }

    // --- pages and views ---

    /** /ui/ without a session leads to the login page; a wrong password is told there. */
    private void loginPage() throws IOException {
        driver.get(url + "/ui/");
        waitFor("/ui/ to redirect to the login page", () -> driver.getCurrentUrl().endsWith("/ui/login"));
        assertTrue(driver.findElement(By.id("message")).getDomAttribute("hidden") != null, "no message before a login");
        screenshot("login");

        submitLogin(ADMIN, "wrong password");
        waitFor("the login failure to be told", () -> driver.getCurrentUrl().endsWith("/ui/login?failed")
                && driver.findElement(By.id("message")).isDisplayed());
        assertEquals("Unknown user or wrong password.", text("message"));
        screenshot("login-failed");
    }

    private void submitLogin(String user, String password) {
        driver.get(url + "/ui/login");
        driver.findElement(By.id("user")).sendKeys(user);
        driver.findElement(By.id("password")).sendKeys(password);
        driver.findElement(By.cssSelector("form button[type=submit]")).click();
    }

    private void login(String user, String password) {
        submitLogin(user, password);
        waitFor(user + "'s login to open the overview", () -> driver.getCurrentUrl().equals(url + "/ui/")
                && !text("who").isEmpty());
    }

    /** The logout button leads to the login page, and the session is over: /ui/ leads there again. */
    private void logout() {
        driver.findElement(By.id("logout")).click();
        waitFor("logout to lead to the login page", () -> driver.getCurrentUrl().endsWith("/ui/login"));
        driver.get(url + "/ui/");
        waitFor("/ui/ after logout to redirect to the login page", () -> driver.getCurrentUrl().endsWith("/ui/login"));
    }

    /** Waits until the page shows {@code n} transfers in progress, and screenshots them. */
    private void activeTransfers(int n) throws IOException {
        open("transfers");
        waitFor("#live-status to read live", () -> text("live-status").equals("live"));
        waitFor(n + " rows in #active-rows", () -> driver.findElements(By.cssSelector("#active-rows tr[data-id]")).size() == n);
        assertEquals(n == 0, driver.findElement(By.id("active-empty")).isDisplayed(), "#active-empty shows when nothing runs");
        if (n > 0) {
            // The bytes each upload sent before it paused show live: FTP's within half a second.
            waitFor("bytes in every row of #active-rows", () -> driver.findElements(By.cssSelector("#active-rows tr[data-id]"))
                    .stream().noneMatch(row -> row.findElements(By.tagName("td")).get(4).getText().startsWith("0 B")));
            // Each row names the node that runs the transfer: this gateway.
            for (WebElement row : driver.findElements(By.cssSelector("#active-rows tr[data-id]"))) {
                List<WebElement> cells = row.findElements(By.tagName("td"));
                assertEquals("gw-1", cells.get(cells.size() - 1).getText(), "the node of " + row.getText());
            }
            screenshot("transfers");
        }
        open("overview");
    }

    /** The chart has gained a series for each protocol that uploaded, without a reload. */
    private void overview() throws IOException {
        open("overview");
        waitFor("the throughput chart's canvas", () -> !driver.findElements(By.cssSelector("#throughput-chart canvas")).isEmpty());
        waitFor("the chart's legend to name ftp in and http in", () -> {
            String legend = driver.findElement(By.cssSelector("#throughput-chart .u-legend")).getText();
            return legend.contains("ftp in") && legend.contains("http in");
        });
        assertFalse(driver.findElement(By.id("chart-empty")).isDisplayed(), "#chart-empty is hidden once there is data");
        screenshot("overview");
    }

    /** An admin's users view lists both users; anyone else's names none but itself. */
    private void users(boolean admin) throws IOException {
        List<WebElement> link = driver.findElements(By.cssSelector("a[href='#users']"));
        if (!admin && (link.isEmpty() || !link.get(0).isDisplayed())) {
            return;
        }
        open("users");
        if (admin) {
            waitFor("both users in #user-rows", () -> !driver.findElements(userRow(ADMIN)).isEmpty()
                    && !driver.findElements(userRow(DEMO)).isEmpty());
            // demo's quota as bars: its stored bytes of 1 MiB, its objects of 10 files.
            List<WebElement> bars = driver.findElements(By.cssSelector("#user-rows tr[data-user='" + DEMO + "'] meter"));
            assertEquals(2, bars.size(), "demo's quota bars");
            assertEquals(List.of(String.valueOf(FTP_SIZE), String.valueOf(1024 * 1024), "1", "10"),
                    List.of(bars.get(0).getDomProperty("value"), bars.get(0).getDomProperty("max"),
                            bars.get(1).getDomProperty("value"), bars.get(1).getDomProperty("max")));
            screenshot("users");
        } else {
            waitFor("demo's own row in #user-rows", () -> !driver.findElements(userRow(DEMO)).isEmpty());
            for (WebElement row : driver.findElements(By.cssSelector("#user-rows tr[data-user]"))) {
                assertEquals(DEMO, row.getDomAttribute("data-user"), "a user sees no other user");
            }
        }
    }

    private static By userRow(String user) {
        return By.cssSelector("#user-rows tr[data-user='" + user + "']");
    }

    /** An admin sees the backend and the pools' table; anyone else has no backends tab nor data. */
    private void backends(boolean admin) throws IOException {
        if (admin) {
            open("backends");
            waitFor("the local backend in #backend-rows",
                    () -> !driver.findElements(By.cssSelector("#backend-rows tr[data-backend='local']")).isEmpty());
            assertFalse(driver.findElements(By.id("pool-rows")).isEmpty(), "#pool-rows");
            screenshot("backends");
        } else {
            List<WebElement> link = driver.findElements(By.cssSelector("a[href='#backends']"));
            assertTrue(link.isEmpty() || !link.get(0).isDisplayed(), "no Backends tab for a user");
            assertTrue(driver.findElements(By.cssSelector("#backend-rows tr[data-backend]")).isEmpty(), "no backend data for a user");
        }
    }

    /** The history lists the transfers the viewer may see, newest first, with its filter and pages. */
    private void history(int transfers) throws IOException {
        open("history");
        waitFor("the protocol filter to offer ftp and http", () -> driver.findElements(
                By.cssSelector("#history-protocol option")).stream().map(o -> o.getDomAttribute("value")).toList()
                .containsAll(List.of("", "ftp", "http")));
        waitFor(transfers + " rows in #history-rows",
                () -> driver.findElements(By.cssSelector("#history-rows tr[data-id]")).size() == transfers);
        for (String id : List.of("history-filter", "history-older", "history-newest")) {
            assertFalse(driver.findElements(By.id(id)).isEmpty(), "#" + id);
        }
        if (transfers == 2) {
            screenshot("history");
        }
        open("overview");
    }

    /** The overview with the system's dark theme: the page's colours follow it. */
    private void dark() throws IOException {
        String light = driver.findElement(By.tagName("body")).getCssValue("background-color");
        driver.executeCdpCommand("Emulation.setEmulatedMedia",
                Map.of("features", List.of(Map.of("name", "prefers-color-scheme", "value", "dark"))));
        try {
            waitFor("the dark theme's background", () -> !driver.findElement(By.tagName("body"))
                    .getCssValue("background-color").equals(light));
            screenshot("overview-dark");
        } finally {
            driver.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features", List.of()));
        }
    }

    /** The overview at a phone's size. */
    private void phone() throws IOException {
        driver.executeCdpCommand("Emulation.setDeviceMetricsOverride",
                Map.of("width", 390, "height", 844, "deviceScaleFactor", 1, "mobile", true));
        try {
            driver.navigate().refresh();
            waitFor("the overview's totals at a phone's size", () -> !driver.findElement(By.id("files-in")).getDomAttribute("title").isEmpty());
            screenshot("overview-phone");
        } finally {
            driver.executeCdpCommand("Emulation.clearDeviceMetricsOverride", Map.of());
        }
    }

    // --- helpers ---

    private static WebElement navLink(String view) {
        return driver.findElement(By.cssSelector("a[href='#" + view + "']"));
    }

    /** Opens a view by its nav link: its section shows, every other one is hidden. */
    private static void open(String view) {
        navLink(view).click();
        waitFor("#view-" + view + " to show", () -> driver.findElement(By.id("view-" + view)).getDomAttribute("hidden") == null);
        for (String other : VIEWS) {
            if (!other.equals(view)) {
                List<WebElement> section = driver.findElements(By.id("view-" + other));
                assertTrue(section.isEmpty() || section.get(0).getDomAttribute("hidden") != null, "#view-" + other + " is hidden");
            }
        }
    }

    private static String text(String id) {
        return driver.findElement(By.id(id)).getText().trim();
    }

    /**
     * Waits until the total with this id shows {@code expected} exactly in its title
     * ("350,000 bytes"; the digits are compared, whatever the locale's separators), as
     * the page updates itself: no reload.
     */
    private static void waitForTotal(String id, long expected) {
        String[] last = {""};
        try {
            waitFor("#" + id + " to show " + expected, () -> {
                last[0] = driver.findElement(By.id(id)).getDomAttribute("title");
                String digits = last[0].replaceAll("[^0-9]", "");
                if (!digits.isEmpty() && Long.parseLong(digits) == expected) {
                    return true;
                }
                return false;
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + " (its title is \"" + last[0] + "\")", e);
        }
    }

    /** Polls {@code condition} every 100 ms for {@link #WAIT}; page changes under it count as not yet. */
    private static void waitFor(String what, Supplier<Boolean> condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        RuntimeException lastError = null;
        while (true) {
            try {
                if (condition.get()) {
                    return;
                }
                lastError = null;
            } catch (org.openqa.selenium.WebDriverException e) {
                lastError = e; // the element went away with a reload or a navigation
            }
            if (System.nanoTime() > deadline) {
                collectConsole();
                fail("timed out after " + WAIT.toSeconds() + " s waiting for " + what + " at " + driver.getCurrentUrl()
                        + (lastError == null ? "" : " (" + lastError.getMessage().lines().findFirst().orElse("") + ")")
                        + (severe.isEmpty() ? "" : "; console errors:\n" + String.join("\n", severe)));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** Takes the console entries so far: SEVERE ones are CSP violations, script errors and failed loads. */
    private static void collectConsole() {
        for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
            if (e.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(e.getLevel() + " " + e.getMessage());
            }
        }
    }

    /** Saves the page as NAME.png under target/screenshots/ and in -Ddashboard.screenshots. */
    private static void screenshot(String name) throws IOException {
        collectConsole();
        byte[] png = driver.getScreenshotAs(OutputType.BYTES);
        List<Path> dirs = new ArrayList<>(List.of(Path.of("target", "screenshots")));
        String extra = System.getProperty("dashboard.screenshots");
        if (extra != null && !extra.isBlank()) {
            dirs.add(Path.of(extra));
        }
        for (Path d : dirs) {
            Files.createDirectories(d);
            Files.write(d.resolve(name + ".png"), png);
        }
    }

    /** The first {@code name} on PATH, else {@code fallback}. */
    private static String onPath(String name, String fallback) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d.isEmpty() ? "." : d, name);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return fallback;
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (java.io.UncheckedIOException | java.nio.file.NoSuchFileException e) {
            // Chromium may still be removing its own files; the temp folder is cleaned later
        }
    }

    // --- uploads held open mid-way ---

    /** A body of {@code size} zero bytes that sends {@link #FIRST_CHUNK} bytes, then waits for {@link #release}. */
    private static final class HeldBody extends InputStream {
        final CountDownLatch release = new CountDownLatch(1);
        final int size;
        int sent;

        HeldBody(int size) {
            this.size = size;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0];
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (sent >= size) {
                return -1;
            }
            if (sent >= FIRST_CHUNK) {
                try {
                    if (!release.await(30, TimeUnit.SECONDS)) {
                        throw new IOException("the upload was never let go");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            int limit = sent < FIRST_CHUNK ? FIRST_CHUNK : size;
            int n = Math.min(len, limit - sent);
            java.util.Arrays.fill(b, off, off + n, (byte) 0);
            sent += n;
            return n;
        }
    }

    /** An HTTP PUT with a Content-Length whose body stops after its first chunk until {@link #finish}. */
    private static final class SlowHttpUpload implements AutoCloseable {
        final HeldBody body;
        final HttpRequest request;
        CompletableFuture<HttpResponse<String>> response;

        SlowHttpUpload(String user, String password, String path, int size) {
            body = new HeldBody(size);
            request = HttpRequest.newBuilder(URI.create(url + path))
                    .header("Authorization", "Basic " + Base64.getEncoder()
                            .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)))
                    .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> body), size))
                    .build();
        }

        void start() {
            response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .sendAsync(request, HttpResponse.BodyHandlers.ofString());
        }

        void finish() throws Exception {
            body.release.countDown();
            HttpResponse<String> r = response.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(201, r.statusCode(), r.body());
        }

        @Override
        public void close() {
            body.release.countDown();
        }
    }

    /** An FTP STOR that sends its first chunk, then waits for {@link #finish}. */
    private static final class SlowFtpUpload implements AutoCloseable {
        final FTPClient ftp = new FTPClient();
        final String user;
        final String password;
        final String path;
        final int size;
        OutputStream out;

        SlowFtpUpload(String user, String password, String path, int size) {
            this.user = user;
            this.password = password;
            this.path = path;
            this.size = size;
        }

        void start() throws IOException {
            ftp.connect("127.0.0.1", gateway.ftpAddress().getPort());
            assertTrue(ftp.login(user, password), ftp.getReplyString());
            ftp.enterLocalPassiveMode();
            ftp.setFileType(FTP.BINARY_FILE_TYPE);
            out = ftp.storeFileStream(path);
            assertTrue(out != null, ftp.getReplyString());
            out.write(new byte[FIRST_CHUNK]);
            out.flush();
        }

        void finish() throws IOException {
            out.write(new byte[size - FIRST_CHUNK]);
            out.close();
            out = null;
            assertTrue(ftp.completePendingCommand(), ftp.getReplyString());
        }

        @Override
        public void close() throws IOException {
            if (out != null) {
                out.close();
            }
            if (ftp.isConnected()) {
                ftp.disconnect();
            }
        }
    }
}
