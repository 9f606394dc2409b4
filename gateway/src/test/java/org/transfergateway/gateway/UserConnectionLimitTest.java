package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPConnectionClosedException;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * limits.max-connections-per-user on one gateway (embedded ledger, counted in memory), over
 * every protocol: with a limit of 1 and an SFTP session of alice open, her FTP login is
 * answered 421, an HTTP request 429 and a second SFTP session is disconnected after its
 * login; bob is not affected; once the SFTP session ends, alice logs in over FTP again.
 */
class UserConnectionLimitTest {
    @TempDir
    Path dir;
    Gateway gateway;
    SshClient ssh;

    @BeforeEach
    void start() throws Exception {
        gateway = Gateway.start(new ConfigLoader().parse("""
                data-dir: %s
                ftp: {port: 0, passive-ports: 54680-54690}
                http: {port: 0}
                sftp: {port: 0}
                limits: {max-connections-per-user: 1}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret}
                  - {name: bob, password: secret}
                ledger: {url: %s}
                """.formatted(dir.resolve("data"), dir.resolve("files"), dir.resolve("ledger"))));
        ssh = SshClient.setUpDefaultClient();
        ssh.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        ssh.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (ssh != null) {
            ssh.stop();
        }
        if (gateway != null) {
            gateway.close();
        }
    }

    private ClientSession sftpLogin(String user) throws Exception {
        ClientSession s = ssh.connect(user, "127.0.0.1", gateway.sftpAddress().getPort())
                .verify(Duration.ofSeconds(10)).getClientSession();
        s.addPasswordIdentity("secret");
        s.auth().verify(Duration.ofSeconds(10));
        return s;
    }

    /** The status of a GET on a connection that closes after the answer. */
    private int httpStatus(String user) throws Exception {
        String auth = Base64.getEncoder().encodeToString((user + ":secret").getBytes(StandardCharsets.UTF_8));
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            s.getOutputStream().write(("GET /files/ HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return Integer.parseInt(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1).substring(9, 12));
        }
    }

    private boolean ftpLogin(String user) throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", gateway.ftpAddress().getPort());
        try {
            return c.login(user, "secret");
        } finally {
            if (c.isConnected()) {
                c.disconnect();
            }
        }
    }

    @Test
    void aUserAtItsLimitIsRefusedOnEveryProtocolUntilItsSessionEnds() throws Exception {
        ClientSession first = sftpLogin("alice");
        try (SftpClient files = SftpClientFactory.instance().createSftpClient(first)) {
            files.mkdir("/kept");
            FTPConnectionClosedException closed = assertThrows(FTPConnectionClosedException.class, () -> ftpLogin("alice"));
            assertTrue(closed.getMessage().contains("421"), closed.getMessage());
            assertEquals(429, httpStatus("alice"));
            ClientSession second = ssh.connect("alice", "127.0.0.1", gateway.sftpAddress().getPort())
                    .verify(Duration.ofSeconds(10)).getClientSession();
            second.addPasswordIdentity("secret");
            assertThrows(Exception.class, () -> {
                second.auth().verify(Duration.ofSeconds(10));
                SftpClientFactory.instance().createSftpClient(second).close();
            });
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!second.isClosed() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(second.isClosed());
            // Others are not limited by alice's sessions.
            assertTrue(ftpLogin("bob"));
            assertEquals(200, httpStatus("bob"));
            // The first session still works.
            assertTrue(files.stat("/kept").isDirectory());
        }
        first.close();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                if (ftpLogin("alice")) {
                    break;
                }
            } catch (FTPConnectionClosedException stillCounted) {
                // the server has not seen the SSH session end yet
            }
            Thread.sleep(20);
        }
        assertTrue(ftpLogin("alice"));
        assertEquals(200, httpStatus("alice"));
    }
}
