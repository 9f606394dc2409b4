package org.transfergateway.storage.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;

/** The local-disk backend against a real temporary folder. */
class LocalStorageTest {
    @TempDir
    Path dir;
    Path root;
    LocalStorage storage;

    @BeforeEach
    void open() throws IOException {
        root = dir.resolve("root");
        storage = new LocalStorage("local", root);
    }

    private ObjectInfo put(String key, String content) throws IOException {
        try (Upload u = storage.create(key)) {
            u.write(content.getBytes(StandardCharsets.UTF_8), 0, content.length());
            return u.commit();
        }
    }

    private String read(String key, long offset, long length) throws IOException {
        try (InputStream in = storage.read(key, offset, length)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private long tempFiles() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve(LocalStorage.TEMP_FOLDER))) {
            return s.count();
        }
    }

    @Test
    void uploadAppearsOnlyOnCommitWithParentsCreated() throws IOException {
        Upload u = storage.create("alice/a/b/c.txt");
        u.write("hello".getBytes(), 0, 5);
        assertFalse(Files.exists(root.resolve("alice/a/b/c.txt")));
        assertNull(storage.stat("alice/a/b/c.txt"));
        ObjectInfo info = u.commit();
        assertEquals(5, info.size());
        assertEquals("hello", Files.readString(root.resolve("alice/a/b/c.txt")));
        assertEquals(0, tempFiles());
    }

    @Test
    void leftoversOfACrashAreRemovedAtOpen() throws IOException {
        Files.writeString(root.resolve(LocalStorage.TEMP_FOLDER).resolve("crashed.part"), "partial");
        new LocalStorage("local", root);
        assertEquals(0, tempFiles());
    }

    @Test
    void symbolicLinksNeverLeadOutOfTheRoot() throws IOException {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), "secret");
        Files.createDirectories(root.resolve("alice"));
        Files.createSymbolicLink(root.resolve("alice/escape"), outside);
        Files.createSymbolicLink(root.resolve("alice/secret-link"), outside.resolve("secret.txt"));
        assertNull(storage.stat("alice/escape/secret.txt"));
        assertNull(storage.read("alice/escape/secret.txt", 0, -1));
        assertNull(storage.read("alice/secret-link", 0, -1));
        assertEquals(List.of(), storage.list("alice"));
        assertEquals(ErrorCode.FORBIDDEN, assertThrows(GatewayException.class, () -> storage.create("alice/escape/planted.txt")).code());
        assertFalse(Files.exists(outside.resolve("planted.txt")));
        // a link inside the root is followed
        Files.createDirectories(root.resolve("alice/real"));
        Files.writeString(root.resolve("alice/real/in.txt"), "in");
        Files.createSymbolicLink(root.resolve("alice/inner"), root.resolve("alice/real"));
        assertEquals("in", read("alice/inner/in.txt", 0, -1));
    }

    @Test
    void aDanglingLinkIsAbsentAndAnUploadReplacesTheLinkItself() throws IOException {
        Path outside = Files.createDirectories(dir.resolve("elsewhere"));
        Files.createDirectories(root.resolve("alice"));
        Files.createSymbolicLink(root.resolve("alice/dangling"), outside.resolve("not-yet.txt"));
        assertNull(storage.stat("alice/dangling"));
        assertNull(storage.read("alice/dangling", 0, -1));
        assertFalse(storage.delete("alice/dangling"));
        assertEquals(List.of(), storage.list("alice"));
        put("alice/dangling", "now a file");
        assertFalse(Files.isSymbolicLink(root.resolve("alice/dangling")));
        assertEquals("now a file", Files.readString(root.resolve("alice/dangling")));
        assertFalse(Files.exists(outside.resolve("not-yet.txt")));
        assertEquals(10, storage.stat("alice/dangling").size());
    }

    @Test
    void aFileWhereAFolderShouldBeIsAConflict() throws IOException {
        put("file", "f");
        Upload u = storage.create("file/child.txt");
        u.write("c".getBytes(), 0, 1);
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class, u::commit).code());
        assertEquals(0, tempFiles());
        byte[] big = new byte[3 << 20];
        new java.util.Random(9).nextBytes(big);
        try (Upload b = storage.create("big.bin")) {
            b.write(big, 0, big.length);
            b.commit();
        }
        assertArrayEquals(big, Files.readAllBytes(root.resolve("big.bin")));
    }
}
