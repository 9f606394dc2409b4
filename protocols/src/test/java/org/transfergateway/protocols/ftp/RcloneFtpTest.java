package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.net.ProtocolCommandEvent;
import org.apache.commons.net.ProtocolCommandListener;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The real rclone (its {@code ftp} remote) against the FTP front end over local disk: sync
 * into a folder that does not exist yet, check, mkdir of nested folders, a second sync that
 * moves nothing, and modification times kept through MFMT. Also the replies rclone relies
 * on (MLSD on a missing folder, MFMT), checked with commons-net.
 */
class RcloneFtpTest {
    @TempDir
    static Path root;
    @TempDir
    static Path work;
    static FtpFrontEnd ftp;
    static int port;
    static TransferMeter meter;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                ftp: {host: 127.0.0.1, port: 0, passive-ports: 54100-54160}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                """.formatted(root));
        meter = TransferMeter.inMemory();
        ftp = new FtpFrontEnd(config.ftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", root)), meter));
        port = ftp.start().getPort();
    }

    @AfterAll
    static void stop() {
        ftp.close();
    }

    private static Counters alice() {
        return meter.statistics(u -> true).transferredByUser().getOrDefault("alice", Counters.ZERO);
    }

    /** rclone with a remote {@code gw:} for alice, configured through the environment only. */
    private static RealClients.Result rclone(String... args) throws Exception {
        Path rclone = RealClients.require("rclone");
        Path conf = work.resolve("rclone.conf");
        if (!Files.exists(conf)) {
            Files.createFile(conf);
        }
        String obscured = RealClients.run(Map.of(), 30, rclone.toString(), "obscure", "secret").output().trim();
        Map<String, String> env = new HashMap<>();
        env.put("RCLONE_CONFIG", conf.toString());
        env.put("RCLONE_CACHE_DIR", work.resolve("cache").toString());
        env.put("RCLONE_CONFIG_GW_TYPE", "ftp");
        env.put("RCLONE_CONFIG_GW_HOST", "127.0.0.1");
        env.put("RCLONE_CONFIG_GW_PORT", Integer.toString(port));
        env.put("RCLONE_CONFIG_GW_USER", "alice");
        env.put("RCLONE_CONFIG_GW_PASS", obscured);
        List<String> command = new ArrayList<>(List.of(rclone.toString()));
        command.addAll(List.of(args));
        // One try each: a failure shows at once instead of after rclone's retries.
        command.addAll(List.of("--retries", "1", "--low-level-retries", "1", "-v", "--use-json-log"));
        return RealClients.run(env, 120, command.toArray(String[]::new));
    }

    /** The file transfers of a sync, from rclone's final statistics. */
    private static int transfers(RealClients.Result r) {
        Matcher m = Pattern.compile("\"transfers\":(\\d+)").matcher(r.output());
        int last = -1;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        assertTrue(last >= 0, "no statistics in rclone's output:\n" + r.output());
        return last;
    }

    private static void file(Path p, byte[] content, Instant modified) throws Exception {
        Files.createDirectories(p.getParent());
        Files.write(p, content);
        Files.setLastModifiedTime(p, FileTime.from(modified));
    }

    @Test
    void rcloneSyncsIntoAMissingFolderKeepsTimesAndSyncsNothingTheSecondTime() throws Exception {
        Path src = work.resolve("src");
        byte[] random = new byte[300_000];
        new Random(5).nextBytes(random);
        Map<String, byte[]> tree = Map.of(
                "top.txt", "hello\n".getBytes(StandardCharsets.UTF_8),
                "empty.bin", new byte[0],
                "a/b/random.bin", random,
                "a/note.txt", "nested\n".getBytes(StandardCharsets.UTF_8),
                "c/ünïcode.txt", "utf-8 name\n".getBytes(StandardCharsets.UTF_8));
        Map<String, Instant> times = new HashMap<>();
        int i = 0;
        for (Map.Entry<String, byte[]> e : tree.entrySet()) {
            Instant t = Instant.parse("2020-01-02T03:04:05Z").plusSeconds(86_400L * i++);
            times.put(e.getKey(), t);
            file(src.resolve(e.getKey()), e.getValue(), t);
        }

        RealClients.Result sync = rclone("sync", src.toString(), "gw:backup/2020");
        assertEquals(0, sync.status(), sync.output());
        assertEquals(tree.size(), transfers(sync), sync.output());
        assertFalse(sync.output().contains("SetModTime is not supported"), sync.output());
        Path stored = root.resolve("alice/backup/2020");
        for (Map.Entry<String, byte[]> e : tree.entrySet()) {
            Path p = stored.resolve(e.getKey());
            assertArrayEquals(e.getValue(), Files.readAllBytes(p), e.getKey());
            assertEquals(times.get(e.getKey()), Files.getLastModifiedTime(p).toInstant(), e.getKey() + " keeps its time");
        }
        assertEquals(new Counters(300_000 + 6 + 7 + 11, 0, 5, 0, 0, 0), alice());

        RealClients.Result check = rclone("check", src.toString(), "gw:backup/2020");
        assertEquals(0, check.status(), check.output());
        assertTrue(check.output().contains("5 matching files"), check.output());

        RealClients.Result again = rclone("sync", src.toString(), "gw:backup/2020");
        assertEquals(0, again.status(), again.output());
        assertEquals(0, transfers(again), again.output());
        assertEquals(5, alice().filesIn(), "the second sync uploaded nothing");

        // Same size, another time: rclone compares times, so this one file goes again.
        Files.setLastModifiedTime(src.resolve("a/note.txt"), FileTime.from(Instant.parse("2024-05-06T07:08:09Z")));
        RealClients.Result touched = rclone("sync", src.toString(), "gw:backup/2020");
        assertEquals(0, touched.status(), touched.output());
        assertEquals(1, transfers(touched), touched.output());
        assertEquals(Instant.parse("2024-05-06T07:08:09Z"), Files.getLastModifiedTime(stored.resolve("a/note.txt")).toInstant());

        RealClients.Result copy = rclone("copy", src.toString(), "gw:copies/one/two");
        assertEquals(0, copy.status(), copy.output());
        assertArrayEquals(random, Files.readAllBytes(root.resolve("alice/copies/one/two/a/b/random.bin")));
    }

    @Test
    void rcloneMakesNestedFoldersAndAgainWhenTheyExist() throws Exception {
        RealClients.Result mkdir = rclone("mkdir", "gw:deep/er/est");
        assertEquals(0, mkdir.status(), mkdir.output());
        assertTrue(Files.isDirectory(root.resolve("alice/deep/er/est")));
        RealClients.Result again = rclone("mkdir", "gw:deep/er/est");
        assertEquals(0, again.status(), again.output());
        RealClients.Result list = rclone("lsf", "-R", "gw:deep");
        assertEquals(0, list.status(), list.output());
        assertTrue(list.output().contains("er/est/"), list.output());
    }

    private static FTPClient login() throws Exception {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        assertTrue(c.login("alice", "secret"));
        c.enterLocalPassiveMode();
        return c;
    }

    @Test
    void mlsdOfAMissingFolderAnswers550AtOnce() throws Exception {
        FTPClient c = login();
        List<String> replies = new ArrayList<>();
        c.addProtocolCommandListener(new ProtocolCommandListener() {
            @Override
            public void protocolCommandSent(ProtocolCommandEvent event) {
            }

            @Override
            public void protocolReplyReceived(ProtocolCommandEvent event) {
                replies.add(event.getMessage().substring(0, 3));
            }
        });
        try {
            replies.clear();
            assertEquals(0, c.mlistDir("no/such/folder").length);
            assertEquals(List.of("227", "550"), replies, "PASV, then the refusal with no 150 before it");
            Files.createDirectories(root.resolve("alice/there"));
            Files.writeString(root.resolve("alice/there/f.txt"), "x");
            replies.clear();
            assertEquals(1, c.mlistDir("there").length, c.getReplyString());
            assertEquals(List.of("227", "150", "226"), replies);
            assertEquals(501, c.sendCommand("MLSD", "there/f.txt"), "a file is no folder: " + c.getReplyString());
            assertTrue(c.sendNoOp(), "the session goes on");
        } finally {
            c.disconnect();
        }
    }

    @Test
    void mfmtSetsTheTimeAndRefusesBadInput() throws Exception {
        Files.createDirectories(root.resolve("alice/times"));
        Files.writeString(root.resolve("alice/times/with space.txt"), "x");
        FTPClient c = login();
        try {
            assertTrue(c.features(), c.getReplyString());
            assertTrue(c.hasFeature("MFMT"), c.getReplyString());
            assertEquals(213, c.sendCommand("MFMT", "20210304050607 times/with space.txt"), c.getReplyString());
            assertEquals("213 Modify=20210304050607; times/with space.txt", c.getReplyString().trim());
            assertEquals(Instant.parse("2021-03-04T05:06:07Z"), Files.getLastModifiedTime(root.resolve("alice/times/with space.txt")).toInstant());
            assertEquals("20210304050607", c.getModificationTime("times/with space.txt").substring(0, 14));

            assertEquals(213, c.sendCommand("MFMT", "20210304050607.250 times/with space.txt"), c.getReplyString());
            assertEquals("213 Modify=20210304050607.250; times/with space.txt", c.getReplyString().trim());

            assertEquals(550, c.sendCommand("MFMT", "20210304050607 times/missing.txt"), c.getReplyString());
            assertEquals(550, c.sendCommand("MFMT", "20210304050607 times"), "a folder: " + c.getReplyString());
            assertEquals(501, c.sendCommand("MFMT", "20211304050607 times/with space.txt"), "month 13: " + c.getReplyString());
            assertEquals(501, c.sendCommand("MFMT", "2021030405 times/with space.txt"), c.getReplyString());
            assertEquals(501, c.sendCommand("MFMT", "20210304050607"), "no file: " + c.getReplyString());
            assertEquals(501, c.sendCommand("MFMT"), c.getReplyString());
            assertEquals(553, c.sendCommand("MFMT", "20210304050607 ../../etc/passwd"), c.getReplyString());
        } finally {
            c.disconnect();
        }
    }
}
