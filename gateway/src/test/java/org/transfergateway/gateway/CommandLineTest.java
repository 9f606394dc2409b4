package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.protocols.auth.Passwords;

/** The command line as a user meets it: exit statuses and the one-line errors. */
class CommandLineTest {
    @TempDir
    Path dir;

    record Result(int status, String out, String err) {
    }

    static synchronized Result run(String stdin, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            int status = Main.run(args);
            return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
        }
    }

    private Path config(String yaml) throws Exception {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    @Test
    void badConfigExitsWithTwoAndOneLineNamingTheKey() throws Exception {
        Result r = run("", "serve", "--config", config("ftp:\n  passive-ports: 50100-50000\nusers: [{name: a, password: b}]\n").toString());
        assertEquals(2, r.status());
        assertEquals("gateway: ftp.passive-ports: 50100-50000 is not a range of ports 1-65535\n", r.err());
    }

    @Test
    void unknownKeyExitsWithTwo() throws Exception {
        Result r = run("", "serve", "--config", config("htp:\n  port: 1\nusers: [{name: a, password: b}]\n").toString());
        assertEquals(2, r.status());
        assertEquals("gateway: htp: is not a known key\n", r.err());
    }

    @Test
    void missingConfigFileExitsWithTwo() {
        Result r = run("", "serve", "--config", dir.resolve("nope.yaml").toString());
        assertEquals(2, r.status());
        assertEquals("gateway: " + dir.resolve("nope.yaml") + ": no such file\n", r.err());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void portInUseExitsWithTwoNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            Result r = run("", "serve", "--config", config("""
                    ftp: {enabled: false}
                    http: {port: %d}
                    storage: {backends: [{name: local, type: local, root: %s}]}
                    users: [{name: a, password: b}]
                    ledger: {url: %s}
                    """.formatted(port, dir.resolve("files"), dir.resolve("ledger"))).toString());
            assertEquals(2, r.status());
            assertTrue(r.err().startsWith("gateway: http.port: 127.0.0.1:" + port + " cannot be bound"), r.err());
            assertEquals(1, r.err().lines().count());
        }
    }

    @Test
    void badAuthorizedKeyExitsWithTwoNamingTheUser() throws Exception {
        Result r = run("", "serve", "--config", config("""
                sftp: {port: 0}
                users: [{name: a, password: b}, {name: carol, password: c, authorized-keys: ["ssh-ed25519 AAAA%%%% carol@x"]}]
                """).toString());
        assertEquals(2, r.status());
        assertEquals("gateway: users[1].authorized-keys[0]: key of user carol: the ssh-ed25519 key is not valid base64\n", r.err());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sftpPortInUseExitsWithTwoNamingThePort() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            Result r = run("", "serve", "--config", config("""
                    data-dir: %s
                    ftp: {enabled: false}
                    http: {enabled: false}
                    sftp: {port: %d}
                    storage: {backends: [{name: local, type: local, root: %s}]}
                    users: [{name: a, password: b}]
                    ledger: {url: %s}
                    """.formatted(dir.resolve("data"), port, dir.resolve("files"), dir.resolve("ledger"))).toString());
            assertEquals(2, r.status());
            assertTrue(r.err().startsWith("gateway: sftp.port: 127.0.0.1:" + port + " cannot be bound"), r.err());
            assertEquals(1, r.err().lines().count());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void unreachableBackendExitsWithTwoNamingIt() throws Exception {
        Result r = run("", "serve", "--config", config("""
                ftp: {port: 0}
                http: {port: 0}
                storage: {backends: [{name: archive, type: s3, bucket: nowhere, endpoint: "http://127.0.0.1:1", access-key: a, secret-key: b}]}
                users: [{name: a, password: b}]
                ledger: {url: %s}
                """.formatted(dir.resolve("ledger"))).toString());
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("gateway: storage.backends[0] (archive): "), r.err());
        assertEquals(1, r.err().lines().count());
    }

    @Test
    void hashPasswordPrintsAHashThatVerifies() {
        Result r = run("correct horse\n", "hash-password");
        assertEquals(0, r.status());
        String hash = r.out().trim();
        assertTrue(hash.startsWith("pbkdf2-sha256$"), hash);
        assertTrue(Passwords.verify("correct horse", hash));
        assertTrue(!Passwords.verify("wrong", hash));
    }

    @Test
    void statsAgainstNoGatewaySaysSo() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Result r = run("", "stats", "--url", "http://127.0.0.1:" + port);
        assertEquals(1, r.status());
        assertTrue(r.err().startsWith("gateway: http://127.0.0.1:" + port + "/api/stats: cannot reach the gateway"), r.err());
    }
}
