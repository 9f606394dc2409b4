package org.transfergateway.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The one path normaliser, as a table: what stays inside the home, and what is refused. */
class StoragePathsTest {

    @ParameterizedTest(name = "{0} in {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
            "a.txt               | /        | /a.txt",
            "/a/b/c.txt          | /x       | /a/b/c.txt",
            "b.txt               | /a       | /a/b.txt",
            "//a///b//           | /        | /a/b",
            "./a/./b             | /        | /a/b",
            "a/../b              | /        | /b",
            "..                  | /a       | /",
            "../c                | /a/b     | /a/c",
            "...                 | /        | /...",
            "..hidden            | /        | /..hidden",
            "a..b                | /        | /a..b",
            "%2e%2e%2f           | /        | /%2e%2e%2f",
            "/                   | /a       | /",
            "''                  | /a       | /a",
            "données/✓ 日本.txt   | /        | /données/✓ 日本.txt",
    })
    void normalisesInsideTheHome(String path, String cwd, String expected) throws GatewayException {
        assertEquals(expected, StoragePaths.normalize(cwd, path));
    }

    @ParameterizedTest
    @ValueSource(strings = {"..", "../x", "/..", "/../alice_backup", "a/../../b", "../../../../etc/passwd",
            "..\\x", "a\\..\\..\\b", "a\0b", "a\rb", "a\nDELE b", "\u007f"})
    void refusesEscapesAndControlCharacters(String path) {
        GatewayException e = assertThrows(GatewayException.class, () -> StoragePaths.normalize("/", path));
        assertEquals(ErrorCode.BAD_PATH, e.code());
    }

    @ParameterizedTest(name = "home {0} + {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
            "/alice      | /reports/q1.csv | alice/reports/q1.csv",
            "/alice      | /               | alice",
            "/           | /a.txt          | a.txt",
            "/team/alice | /x              | team/alice/x",
    })
    void keysLieUnderTheHome(String home, String path, String key) throws GatewayException {
        assertEquals(key, StoragePaths.key(home, path));
    }

    @org.junit.jupiter.api.Test
    void siblingPrefixCannotBeReached() throws GatewayException {
        // "/alice" must never reach "alice_backup": the key always has the home and a slash.
        String p = StoragePaths.normalize("/", "../alice_backup/x".substring(3));
        assertEquals("alice/alice_backup/x", StoragePaths.key("/alice", p));
    }

    @org.junit.jupiter.api.Test
    void keysOverTheS3LimitAreRefused() throws GatewayException {
        String ok = "/" + "a".repeat(1024 - "alice/".length());
        assertEquals(1024, StoragePaths.key("/alice", ok).length());
        GatewayException e = assertThrows(GatewayException.class, () -> StoragePaths.key("/alice", ok + "b"));
        assertEquals(ErrorCode.BAD_PATH, e.code());
        // bytes, not characters
        assertThrows(GatewayException.class, () -> StoragePaths.key("/alice", "/" + "é".repeat(600)));
    }
}
