package org.transfergateway.protocols.sftp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.sftp.client.SftpClient;
import org.apache.sshd.sftp.client.SftpClientFactory;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The hostile-path table of FTP and HTTP (the normaliser's own table is StoragePathsTest)
 * through SFTP: each path with open, stat, lstat, opendir, mkdir, rmdir, rename both ways,
 * remove and setstat, with the exact status. A path the normaliser refuses is refused by every
 * request alike; one that clamps at the home (as realpath and a chrooted OpenSSH do) lands
 * inside it; a symbolic link on the disk leads nowhere; nothing appears outside the home.
 */
class SftpPathSafetyTest {
    @TempDir
    static Path root;
    @TempDir
    static Path data;
    @TempDir
    static Path outside;
    static SftpFrontEnd sftp;
    static int port;
    static SshClient client;
    static ClientSession session;
    static SftpClient sftpClient;

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                sftp: {port: 0, host-key: %s}
                storage: {backends: [{name: local, type: local, root: %s}]}
                security: {login-failure-delay: 0s}
                users: [{name: alice, password: secret}, {name: bob, password: other}]
                """.formatted(data.resolve("host_key"), root));
        sftp = new SftpFrontEnd(config.sftp(), config.limits(),
                new Accounts(config, Map.of("local", new LocalStorage("local", root)), TransferMeter.inMemory()));
        port = sftp.start().getPort();
        client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
        Files.createDirectories(root.resolve("alice"));
        Files.createDirectories(root.resolve("bob"));
        Files.writeString(root.resolve("bob/secret.txt"), "bob's");
        Files.writeString(outside.resolve("secret.txt"), "outside");
        // A link on the disk out of the storage root, as a careless admin might leave one.
        Files.createSymbolicLink(root.resolve("alice/link"), outside);
        session = client.connect("alice", "127.0.0.1", port).verify(Duration.ofSeconds(10)).getClientSession();
        session.addPasswordIdentity("secret");
        session.auth().verify(Duration.ofSeconds(10));
        sftpClient = SftpClientFactory.instance().createSftpClient(session);
    }

    @AfterAll
    static void stop() throws IOException {
        sftpClient.close();
        session.close();
        client.stop();
        sftp.close();
    }

    interface Request {
        void run(SftpClient c) throws IOException;
    }

    /** "OK", or the status and message the request was answered with. */
    static String answer(Request r) {
        try {
            r.run(sftpClient);
            return "OK";
        } catch (SftpException e) {
            return e.getStatus() + " " + e.getMessage();
        } catch (IOException e) {
            return e.toString();
        }
    }

    static final String BACKSLASH = SftpConstants.SSH_FX_FAILURE + " the path contains a backslash";
    static final String CONTROL = SftpConstants.SSH_FX_FAILURE + " the path contains a control character";
    static final String TOO_LONG = SftpConstants.SSH_FX_FAILURE + " the path is longer than 1024 bytes";

    static Stream<Arguments> refused() {
        return Stream.of(
                Arguments.of("..\\x", BACKSLASH),
                Arguments.of("a\\..\\..\\b", BACKSLASH),
                Arguments.of("\\etc\\passwd", BACKSLASH),
                Arguments.of("a\0b", CONTROL),
                Arguments.of("a\nDELE b", CONTROL),
                Arguments.of("a\rb", CONTROL),
                Arguments.of("\u007f", CONTROL),
                Arguments.of("\u001b[31mred", CONTROL),
                Arguments.of("/" + "a".repeat(1100), TOO_LONG),
                Arguments.of("/" + "é".repeat(600), TOO_LONG));
    }

    /** Every request on a path the normaliser refuses gets the same status and message. */
    @ParameterizedTest
    @MethodSource("refused")
    void refusedPathsAreRefusedByEveryRequest(String path, String expected) throws IOException {
        sftpClient.write("/src.txt").close();
        List<String> answers = new ArrayList<>();
        answers.add("stat " + answer(c -> c.stat(path)));
        answers.add("lstat " + answer(c -> c.lstat(path)));
        answers.add("open-read " + answer(c -> c.open(path, EnumSet.of(SftpClient.OpenMode.Read)).close()));
        answers.add("open-write " + answer(c -> c.open(path, EnumSet.of(SftpClient.OpenMode.Write, SftpClient.OpenMode.Create)).close()));
        answers.add("opendir " + answer(c -> c.openDir(path).close()));
        answers.add("mkdir " + answer(c -> c.mkdir(path)));
        answers.add("rmdir " + answer(c -> c.rmdir(path)));
        answers.add("rename-to " + answer(c -> c.rename("/src.txt", path)));
        answers.add("rename-from " + answer(c -> c.rename(path, "/dst.txt")));
        answers.add("remove " + answer(c -> c.remove(path)));
        answers.add("setstat " + answer(c -> c.setStat(path, new SftpClient.Attributes().modifyTime(FileTime.fromMillis(0)))));
        List<String> wanted = answers.stream().map(a -> a.substring(0, a.indexOf(' ')) + " " + expected).toList();
        assertEquals(wanted, answers);
        assertNothingOutsideTheHome();
    }

    static Stream<Arguments> clamped() {
        return Stream.of(
                Arguments.of("../escape.txt", "/escape.txt"),
                Arguments.of("/../../etc/passwd", "/etc/passwd"),
                Arguments.of("a/../../../x", "/x"),
                Arguments.of("../bob/secret.txt", "/bob/secret.txt"),
                Arguments.of("//etc//shadow", "/etc/shadow"),
                Arguments.of("./././y", "/y"),
                Arguments.of("%2e%2e/x", "/%2e%2e/x"),
                Arguments.of("%2E%2E%2Fx", "/%2E%2E%2Fx"),
                Arguments.of("..%5cx", "/..%5cx"),
                Arguments.of("~/x", "/~/x"),
                Arguments.of("~bob/secret.txt", "/~bob/secret.txt"),
                Arguments.of("...", "/..."),
                Arguments.of("..hidden", "/..hidden"),
                Arguments.of("données/✓ 日本.txt", "/données/✓ 日本.txt"));
    }

    /**
     * {@code ..} at the home is the home, as realpath answers and as OpenSSH does in a chroot;
     * encoded dots and tildes are plain names. Each path is written, read, stat'ed, renamed
     * onto and removed where it resolves, inside alice's home, and nowhere else.
     */
    @ParameterizedTest
    @MethodSource("clamped")
    void pathsThatClampAtTheHomeStayInIt(String path, String inside) throws IOException {
        byte[] body = ("evil " + path).getBytes(StandardCharsets.UTF_8);
        Path local = root.resolve("alice" + inside);
        String bobBefore = Files.readString(root.resolve("bob/secret.txt"));
        try {
            assertEquals(inside, sftpClient.canonicalPath(path));
            assertEquals(SftpConstants.SSH_FX_NO_SUCH_FILE + "", answer(c -> c.stat(path)).split(" ")[0]);
            String parent = inside.substring(0, inside.lastIndexOf('/'));
            if (!parent.isEmpty()) {
                sftpClient.mkdir(parent);
            }
            try (OutputStream out = sftpClient.write(path)) {
                out.write(body);
            }
            assertArrayEquals(body, Files.readAllBytes(local));
            assertEquals(body.length, sftpClient.stat(path).getSize());
            try (InputStream in = sftpClient.read(path)) {
                assertArrayEquals(body, in.readAllBytes());
            }
            sftpClient.rename(path, path + "-r");
            assertTrue(Files.exists(root.resolve("alice" + inside + "-r")));
            sftpClient.rename(path + "-r", path);
            sftpClient.remove(path);
            assertFalse(Files.exists(local));
            sftpClient.mkdir(path);
            assertTrue(Files.isDirectory(local));
            sftpClient.rmdir(path);
            if (!parent.isEmpty()) {
                sftpClient.rmdir(parent);
            }
        } finally {
            assertEquals(bobBefore, Files.readString(root.resolve("bob/secret.txt")));
            assertNothingOutsideTheHome();
        }
    }

    /** A link on the disk that leads out of the root is no way out: not followed, not written through. */
    @Test
    void aSymbolicLinkOutOfTheRootLeadsNowhere() throws IOException {
        String noSuch = SftpConstants.SSH_FX_NO_SUCH_FILE + " no such file or folder: ";
        String outsideRoot = SftpConstants.SSH_FX_PERMISSION_DENIED + " the path leads outside the storage root";
        assertEquals(noSuch + "/link", answer(c -> c.stat("/link")));
        assertEquals(noSuch + "/link/secret.txt", answer(c -> c.stat("/link/secret.txt")));
        assertEquals(noSuch + "/link/secret.txt", answer(c -> c.read("/link/secret.txt").close()));
        assertEquals(outsideRoot, answer(c -> c.write("/link/planted.txt").close()));
        assertEquals(outsideRoot, answer(c -> c.mkdir("/link/d")));
        assertEquals(noSuch + "/link/secret.txt", answer(c -> c.remove("/link/secret.txt")));
        // Links cannot be made or read over SFTP at all.
        assertEquals(SftpConstants.SSH_FX_OP_UNSUPPORTED + " links are not supported", answer(c -> c.symLink("/l2", "/etc")));
        assertEquals(List.of("secret.txt"), Files.list(outside).map(p -> p.getFileName().toString()).toList());
        assertEquals("outside", Files.readString(outside.resolve("secret.txt")));
        assertNothingOutsideTheHome();
    }

    /** Only alice's home, bob's one file and the storage's own temp folder are under the root. */
    static void assertNothingOutsideTheHome() throws IOException {
        try (Stream<Path> all = Files.walk(root)) {
            List<Path> strays = all.filter(p -> !p.equals(root) && !p.startsWith(root.resolve("alice"))
                    && !p.startsWith(root.resolve(".transfer-gateway-tmp"))
                    && !p.equals(root.resolve("bob")) && !p.equals(root.resolve("bob/secret.txt"))).toList();
            assertEquals(List.of(), strays);
        }
    }
}
