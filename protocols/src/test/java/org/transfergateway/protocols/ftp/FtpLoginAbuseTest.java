package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Map;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPConnectionClosedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/** Failed logins ban the address they came from, and only that address. */
class FtpLoginAbuseTest {
    @TempDir
    static Path root;
    static FtpFrontEnd ftp;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {port: 0, passive-ports: 51200-51220}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                security: {login-failure-delay: 0s, max-login-failures: 3, ban-duration: 10m}
                """.formatted(root));
        ftp = new FtpFrontEnd(config.ftp(), config.limits(), new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory()));
        port = ftp.start().getPort();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    private static FTPClient from(String address) throws IOException {
        FTPClient c = new FTPClient();
        c.connect(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(address), 0);
        return c;
    }

    @Test
    void anAddressIsBannedAfterRepeatedFailuresWhileOthersGoOn() throws IOException {
        for (int i = 0; i < 3; i++) {
            FTPClient c = from("127.0.0.2");
            assertFalse(c.login("alice", "wrong" + i));
            assertEquals(530, c.getReplyCode());
            c.disconnect();
        }
        FTPClient banned = new FTPClient();
        FTPConnectionClosedException refused = assertThrows(FTPConnectionClosedException.class,
                () -> banned.connect(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName("127.0.0.2"), 0));
        assertTrue(refused.getMessage().contains("421"), refused.getMessage());

        FTPClient other = from("127.0.0.3");
        assertTrue(other.login("alice", "secret"), other.getReplyString());
        other.disconnect();
    }
}
