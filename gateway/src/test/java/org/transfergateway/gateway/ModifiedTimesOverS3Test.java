package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPFile;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Modification times that clients set, kept on S3 as the object metadata {@code mtime}
 * and shown back by every protocol: FTP MFMT then MDTM and MLSD, SFTP setstat then stat and
 * readdir, WebDAV PROPPATCH then PROPFIND, and rclone's webdav remote with
 * {@code vendor = owncloud}, which brings each file's time in {@code X-OC-Mtime}. Setting a
 * time is no transfer and changes no stored byte: the totals stay exactly as they were.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ModifiedTimesOverS3Test {
    static final String BUCKET = "gateway-times";
    static final Instant TIME = Instant.parse("2019-08-07T06:05:04Z");
    @TempDir
    static Path data;
    static Gateway gateway;
    static S3Client s3;
    static SshClient ssh;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        S3ProxyFixture fixture = S3ProxyFixture.shared();
        fixture.createBucket(BUCKET);
        s3 = fixture.client();
        GatewayConfig config = new ConfigLoader(Map.of("S3_ACCESS_KEY", fixture.accessKey(), "S3_SECRET_KEY",
                fixture.secretKey())).parse("""
                data-dir: %s
                ftp: {port: 0, passive-ports: 54400-54420}
                http: {port: 0}
                sftp: {port: 0}
                webdav: {enabled: true}
                storage:
                  backends:
                    - {name: archive, type: s3, bucket: %s, prefix: gw/, endpoint: %s, path-style: true,
                       access-key: "${S3_ACCESS_KEY}", secret-key: "${S3_SECRET_KEY}", checksums: when-required}
                    - {name: local, type: local, root: %s}
                users:
                  - {name: alice, password: secret, backend: archive}
                  - {name: rclone, password: pw, backend: archive}
                  - {name: bob, password: hunter2, backend: local}
                ledger: {url: %s}
                """.formatted(data.resolve("data"), BUCKET, fixture.endpoint(), data.resolve("files"), data.resolve("ledger")));
        gateway = Gateway.start(config);
        ssh = SshClient.setUpDefaultClient();
        ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        ssh.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (ssh != null) {
            ssh.stop();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private static FTPClient login(String user, String password, String file) throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        assertTrue(c.login(user, password));
        c.enterLocalPassiveMode();
        c.setFileType(FTP.BINARY_FILE_TYPE);
        assertTrue(c.storeFile(file, new ByteArrayInputStream("time".getBytes(StandardCharsets.US_ASCII))), c.getReplyString());
        return c;
    }

    private static String metadataTime(String key) {
        return s3.headObject(b -> b.bucket(BUCKET).key("gw/" + key)).metadata().get("mtime");
    }

    /** The totals once no transfer runs any more. */
    private static Statistics settled() throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        Statistics s = gateway.meter().statistics(u -> true);
        while (!s.active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            s = gateway.meter().statistics(u -> true);
        }
        assertTrue(s.active().isEmpty(), "transfers still running: " + s.active());
        return s;
    }

    /** Setting times moved no byte and counted no transfer: everything but the snapshot's own clock as it was. */
    private static void assertSameTotals(Statistics before, Statistics after) {
        assertEquals(before.transferred(), after.transferred());
        assertEquals(before.byProtocol(), after.byProtocol());
        assertEquals(before.transferredByUser(), after.transferredByUser());
        assertEquals(before.stored(), after.stored());
        assertEquals(before.storedByBackend(), after.storedByBackend());
        assertEquals(before.storedByUser(), after.storedByUser());
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + gateway.httpAddress().getPort() + path;
    }

    private static HttpResponse<String> call(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).header("Authorization", basic("alice", "secret"))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void ftpMfmtOnS3IsShownByMdtmAndMlsdAndCountsNothing() throws Exception {
        FTPClient alice = login("alice", "secret", "t.txt");
        try {
            Statistics before = settled();
            assertTrue(alice.features());
            assertTrue(alice.hasFeature("MFMT"), alice.getReplyString());
            assertEquals(213, alice.sendCommand("MFMT", "20190807060504 t.txt"), alice.getReplyString());
            assertEquals("1565157904.000000000", metadataTime("alice/t.txt"));
            assertEquals("20190807060504", alice.getModificationTime("t.txt").substring(0, 14));
            FTPFile listed = null;
            for (FTPFile f : alice.mlistDir("/")) {
                if (f.getName().equals("t.txt")) {
                    listed = f;
                }
            }
            assertTrue(listed != null, "MLSD lists t.txt");
            assertEquals(TIME, listed.getTimestamp().toInstant());
            assertEquals(4, listed.getSize());
            assertSameTotals(before, settled());
            assertEquals(550, alice.sendCommand("MFMT", "20190807060504 absent.txt"), alice.getReplyString());
        } finally {
            alice.disconnect();
        }
        FTPClient bob = login("bob", "hunter2", "t.txt");
        try {
            assertTrue(bob.features());
            assertTrue(bob.hasFeature("MFMT"), bob.getReplyString());
            assertEquals(213, bob.sendCommand("MFMT", "20190807060504 t.txt"), bob.getReplyString());
            assertEquals("20190807060504", bob.getModificationTime("t.txt").substring(0, 14));
            assertEquals(0, bob.mlistDir("no/such/folder").length);
            assertEquals(550, bob.getReplyCode(), bob.getReplyString());
        } finally {
            bob.disconnect();
        }
    }

    @Test
    void sftpSetstatOnS3IsShownByStatAndReaddirAndCountsNothing() throws Exception {
        try (ClientSession s = ssh.connect("alice", "127.0.0.1", gateway.sftpAddress().getPort())
                .verify(Duration.ofSeconds(10)).getClientSession()) {
            s.addPasswordIdentity("secret");
            s.auth().verify(Duration.ofSeconds(10));
            try (SftpClient c = SftpClientFactory.instance().createSftpClient(s)) {
                String dir = "/sftp-" + UUID.randomUUID().toString().substring(0, 8);
                c.mkdir(dir);
                try (OutputStream out = c.write(dir + "/s.bin")) {
                    out.write(new byte[] {1, 2, 3, 4, 5});
                }
                Statistics before = settled();
                c.setStat(dir + "/s.bin", new SftpClient.Attributes().accessTime(FileTime.from(TIME)).modifyTime(FileTime.from(TIME)));
                assertEquals("1565157904.000000000", metadataTime("alice" + dir + "/s.bin"));
                SftpClient.Attributes a = c.stat(dir + "/s.bin");
                assertEquals(TIME, a.getModifyTime().toInstant());
                assertEquals(5, a.getSize());
                int seen = 0;
                for (SftpClient.DirEntry e : c.readDir(dir)) {
                    if (e.getFilename().equals("s.bin")) {
                        assertEquals(TIME, e.getAttributes().getModifyTime().toInstant());
                        seen++;
                    }
                }
                assertEquals(1, seen);
                assertSameTotals(before, settled());
            }
        }
    }

    @Test
    void webDavProppatchOfGetlastmodifiedOnS3IsShownByPropfindAndCountsNothing() throws Exception {
        String dir = "/dav-" + UUID.randomUUID().toString().substring(0, 8);
        assertEquals(201, call("MKCOL", "/dav" + dir, null).statusCode());
        assertEquals(201, call("PUT", "/dav" + dir + "/w.txt", "webdav").statusCode());
        Statistics before = settled();
        HttpResponse<String> set = call("PROPPATCH", "/dav" + dir + "/w.txt", "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\">"
                + "<D:set><D:prop><D:getlastmodified>Wed, 07 Aug 2019 06:05:04 GMT</D:getlastmodified></D:prop></D:set>"
                + "</D:propertyupdate>");
        assertEquals(207, set.statusCode(), set.body());
        assertTrue(set.body().contains("HTTP/1.1 200 OK"), set.body());
        assertEquals("1565157904.000000000", metadataTime("alice" + dir + "/w.txt"));
        HttpResponse<String> listing = call("PROPFIND", "/dav" + dir + "/", null, "Depth", "1");
        assertEquals(207, listing.statusCode());
        assertTrue(listing.body().contains("<D:getlastmodified>Wed, 7 Aug 2019 06:05:04 GMT</D:getlastmodified>"),
                listing.body());
        // As rclone's webdav remote sets a time with vendor owncloud: DAV:lastmodified in seconds.
        HttpResponse<String> owncloud = call("PROPPATCH", "/dav" + dir + "/w.txt", "<?xml version=\"1.0\" encoding=\"utf-8\" ?>"
                + "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><lastmodified xmlns=\"DAV:\">1425445567</lastmodified>"
                + "</D:prop></D:set></D:propertyupdate>");
        assertEquals(207, owncloud.statusCode(), owncloud.body());
        assertTrue(owncloud.body().contains("HTTP/1.1 200 OK"), owncloud.body());
        assertEquals("1425445567.000000000", metadataTime("alice" + dir + "/w.txt"));
        HttpResponse<String> notSeconds = call("PROPPATCH", "/dav" + dir + "/w.txt", "<D:propertyupdate xmlns:D=\"DAV:\">"
                + "<D:set><D:prop><D:lastmodified>yesterday</D:lastmodified></D:prop></D:set></D:propertyupdate>");
        assertEquals(207, notSeconds.statusCode(), notSeconds.body());
        assertTrue(notSeconds.body().contains("HTTP/1.1 409 Conflict"), notSeconds.body());
        assertEquals("1425445567.000000000", metadataTime("alice" + dir + "/w.txt"));
        assertSameTotals(before, settled());
    }

    @Test
    void aPutWithXOcMtimeIsStoredWithThatTimeAndSaysSo() throws Exception {
        HttpResponse<String> put = call("PUT", "/dav/oc.txt", "owncloud", "X-OC-Mtime", "1565157904");
        assertEquals(201, put.statusCode());
        assertEquals("accepted", put.headers().firstValue("X-OC-MTime").orElse(null));
        assertEquals("1565157904.000000000", metadataTime("alice/oc.txt"));
        HttpResponse<String> files = call("PUT", "/files/oc2.txt", "http", "X-OC-Mtime", "1565157904.25");
        assertEquals(201, files.statusCode());
        assertEquals("accepted", files.headers().firstValue("X-OC-MTime").orElse(null));
        assertEquals("1565157904.250000000", metadataTime("alice/oc2.txt"));
        HttpResponse<String> plain = call("PUT", "/dav/plain.txt", "no time");
        assertEquals(201, plain.statusCode());
        assertNull(plain.headers().firstValue("X-OC-MTime").orElse(null));
        assertNull(metadataTime("alice/plain.txt"));
        HttpResponse<String> bad = call("PUT", "/dav/bad.txt", "bad", "X-OC-Mtime", "yesterday");
        assertEquals(400, bad.statusCode());
        assertEquals(404, call("GET", "/dav/bad.txt", null).statusCode(), "nothing stored of a refused upload");
    }

    /**
     * rclone's webdav remote with {@code vendor = owncloud} sends each file's time in
     * {@code X-OC-Mtime}: {@code rclone lsl} shows the source's times (ownCloud's precision,
     * whole seconds) and a second sync finds nothing to do.
     */
    @Test
    void rcloneAsOwncloudKeepsTheSourceTimesAndASecondSyncMovesNothing() throws Exception {
        RealClients.require("rclone", "version");
        Path home = Files.createDirectories(data.resolve("rclone-home"));
        Path tree = Files.createDirectories(home.resolve("tree/sub"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        Files.writeString(tree.resolve("b.txt"), "bravo bravo\n");
        Files.setLastModifiedTime(tree.resolve("a.txt"), FileTime.from(Instant.parse("2015-03-04T05:06:07Z")));
        Files.setLastModifiedTime(tree.resolve("b.txt"), FileTime.from(Instant.parse("2021-10-11T12:13:14Z")));
        Result obscured = run(home, Map.of(), List.of("rclone", "obscure", "pw"));
        assertEquals(0, obscured.status(), obscured.output());
        Map<String, String> remote = Map.of("RCLONE_CONFIG", home.resolve("none.conf").toString(), "TZ", "UTC",
                "RCLONE_CONFIG_GW_TYPE", "webdav", "RCLONE_CONFIG_GW_URL", url("/dav/"), "RCLONE_CONFIG_GW_VENDOR", "owncloud",
                "RCLONE_CONFIG_GW_USER", "rclone", "RCLONE_CONFIG_GW_PASS", obscured.output().strip());
        String src = home.resolve("tree").toString();
        Result first = run(home, remote, List.of("rclone", "sync", "-v", src, "gw:up"));
        assertEquals(0, first.status(), first.output());
        assertTrue(first.output().matches("(?s).*Transferred:\\s+2 / 2, 100%.*"), first.output());
        Result lsl = run(home, remote, List.of("rclone", "lsl", "gw:up"));
        assertEquals(0, lsl.status(), lsl.output());
        assertTrue(lsl.output().matches("(?s).*\\s6 2015-03-04 05:06:07\\.0+ sub/a\\.txt.*"), lsl.output());
        assertTrue(lsl.output().matches("(?s).*\\s12 2021-10-11 12:13:14\\.0+ sub/b\\.txt.*"), lsl.output());
        assertEquals("1425445567.000000000", metadataTime("rclone/up/sub/a.txt"));
        Statistics before = settled();
        Result second = run(home, remote, List.of("rclone", "sync", "-v", src, "gw:up"));
        assertEquals(0, second.status(), second.output());
        assertTrue(second.output().contains("There was nothing to transfer"), second.output());
        assertSameTotals(before, settled());
    }

    private record Result(int status, String output) {
    }

    private static Result run(Path home, Map<String, String> env, List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        StringBuilder out = new StringBuilder();
        Thread reader = new Thread(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                out.append(e);
            }
        });
        reader.start();
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command.get(0) + " did not finish:\n" + out);
        }
        reader.join();
        return new Result(p.exitValue(), out.toString());
    }
}
