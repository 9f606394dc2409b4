package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WebDAV under the same limits as /files/: a read-only user, a quota, the largest upload
 * (refused before the body with Expect: 100-continue), and a user's own home.
 */
class WebDavLimitsTest {
    @TempDir
    Path dir;
    HttpFixture gw;

    @BeforeEach
    void start() throws Exception {
        gw = HttpFixture.withWebDav(dir, """
                  - name: reader
                    password: readpw
                    access: read-only
                  - name: carol
                    password: carolpw
                    quota: {bytes: 1000}
                limits: {max-upload-size: 2000}
                """);
    }

    @AfterEach
    void stop() {
        gw.close();
    }

    private HttpFixture.RawResponse request(String user, String password, String method, String path, String headers,
                                            String body) throws Exception {
        try (Socket s = gw.socket()) {
            HttpFixture.send(s.getOutputStream(), method + " " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: "
                    + HttpFixture.basic(user, password) + "\r\nContent-Length: " + body.length() + "\r\n" + headers + "\r\n" + body);
            return HttpFixture.read(s.getInputStream());
        }
    }

    @Test
    void aReadOnlyUserReadsButNeitherWritesNorMakesFolders() throws Exception {
        assertEquals(403, request("reader", "readpw", "PUT", "/dav/x", "", "data").status());
        assertEquals(403, request("reader", "readpw", "MKCOL", "/dav/d", "", "").status());
        assertEquals(207, request("reader", "readpw", "PROPFIND", "/dav/", "Depth: 1\r\n", "").status());
    }

    @Test
    void aQuotaAndTheLargestUploadHoldOverWebDav() throws Exception {
        assertEquals(413, request("carol", "carolpw", "PUT", "/dav/big", "", "x".repeat(1500)).status());
        assertFalse(Files.exists(gw.root.resolve("carol/big")));
        try (Socket s = gw.socket()) {
            // The answer comes before any of the body, which is never sent.
            HttpFixture.send(s.getOutputStream(), "PUT /dav/huge HTTP/1.1\r\nHost: x\r\nAuthorization: "
                    + HttpFixture.basic("alice", "secret") + "\r\nContent-Length: 3000\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(413, HttpFixture.read(s.getInputStream()).status());
        }
        assertEquals(201, request("carol", "carolpw", "PUT", "/dav/small", "", "x".repeat(900)).status());
    }

    @Test
    void eachUserSeesOnlyTheirOwnHome() throws Exception {
        assertEquals(201, request("alice", "secret", "PUT", "/dav/mine", "", "a").status());
        assertEquals(404, request("carol", "carolpw", "GET", "/dav/mine", "", "").status());
        HttpFixture.RawResponse list = request("carol", "carolpw", "PROPFIND", "/dav/", "Depth: 1\r\n", "");
        assertEquals(207, list.status());
        assertTrue(!list.body().contains("mine"), list.body());
    }
}
