package org.transfergateway.storage.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * A user's folder rules through the whole chain: keys go to the longest rule's backend,
 * are counted there, and cannot be renamed across backends.
 */
class FolderRoutesTest {
    @TempDir
    Path dir;

    private TransferMeter meter;
    private UserFiles files;

    @BeforeEach
    void open() throws IOException {
        meter = TransferMeter.inMemory();
        LocalStorage own = new LocalStorage("own", dir.resolve("own"));
        LocalStorage cold = new LocalStorage("cold", dir.resolve("cold"));
        LocalStorage deep = new LocalStorage("deep", dir.resolve("deep"));
        files = new UserFiles(own, Map.of("/archive", cold, "/archive/deeper", deep), "alice", "/alice",
                Protocol.of("test"), meter, UserPolicy.UNLIMITED, 0);
    }

    private void put(String path, String content) throws IOException {
        try (UserFiles.Inbound in = files.upload(path)) {
            byte[] b = content.getBytes(StandardCharsets.UTF_8);
            in.write(b, 0, b.length);
            in.commit();
        }
    }

    private String get(String path) throws IOException {
        try (InputStream in = files.download(path, 0, -1)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void eachKeyLandsOnItsLongestRuleAndIsCountedThere() throws IOException {
        put("/top.txt", "12");
        put("/archive/a.txt", "345");
        put("/archive/deeper/b.txt", "6789");
        assertTrue(Files.exists(dir.resolve("own/alice/top.txt")));
        assertTrue(Files.exists(dir.resolve("cold/alice/archive/a.txt")));
        assertTrue(Files.exists(dir.resolve("deep/alice/archive/deeper/b.txt")));
        assertEquals("345", get("/archive/a.txt"));
        assertEquals("6789", get("/archive/deeper/b.txt"));
        var stats = meter.statistics(u -> true);
        assertEquals(new StoredTotals(2, 1), stats.storedByBackend().get("own"));
        assertEquals(new StoredTotals(3, 1), stats.storedByBackend().get("cold"));
        assertEquals(new StoredTotals(4, 1), stats.storedByBackend().get("deep"));
        assertEquals(new StoredTotals(9, 3), stats.storedByUser().get("alice"));
        assertEquals("cold", meter.recent(10, "alice", null).stream()
                .filter(r -> r.path().equals("/archive/a.txt")).findFirst().orElseThrow().backend());
    }

    @Test
    void aRulesFolderAlwaysExistsAndShowsInItsParent() throws IOException {
        assertTrue(files.stat("/archive").folder());
        assertTrue(files.stat("/archive/deeper").folder());
        assertEquals(java.util.List.of("archive"), files.list("/").stream().map(ObjectInfo::name).toList());
        assertEquals(java.util.List.of("deeper"), files.list("/archive").stream().map(ObjectInfo::name).toList());
        put("/archive/z.txt", "z");
        assertEquals(java.util.List.of("deeper", "z.txt"), files.list("/archive").stream().map(ObjectInfo::name).toList());
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class, () -> files.removeFolder("/archive")).code());
    }

    @Test
    void renamesStayWithinOneRule() throws IOException {
        put("/top.txt", "12");
        put("/archive/a.txt", "345");
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class,
                () -> files.move("/top.txt", "/archive/top.txt")).code());
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class,
                () -> files.move("/archive/a.txt", "/a.txt")).code());
        assertEquals(ErrorCode.CONFLICT, assertThrows(GatewayException.class,
                () -> files.move("/archive", "/old")).code());
        files.move("/archive/a.txt", "/archive/b.txt");
        assertEquals("345", get("/archive/b.txt"));
        assertArrayEquals(new byte[] {'1', '2'}, Files.readAllBytes(dir.resolve("own/alice/top.txt")));
        assertEquals(new StoredTotals(3, 1), meter.statistics(u -> true).storedByBackend().get("cold"));
    }
}
