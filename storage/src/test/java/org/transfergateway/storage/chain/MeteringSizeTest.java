package org.transfergateway.storage.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.TransferMeter;

/** Active transfers carry the size they are expected to reach when it is known. */
class MeteringSizeTest {
    @TempDir
    Path dir;

    private TransferMeter meter;
    private UserFiles files;

    @BeforeEach
    void open() throws IOException {
        meter = TransferMeter.inMemory();
        files = new UserFiles(new LocalStorage("local", dir), "alice", "/alice", Protocol.of("test"), meter);
    }

    private Statistics.Active only() {
        var active = meter.statistics(u -> true).active();
        assertEquals(1, active.size(), active.toString());
        return active.get(0);
    }

    @Test
    void anUploadOfAnnouncedSizeShowsItsSize() throws IOException {
        try (UserFiles.Inbound in = files.uploadOfSize("/a.bin", 10)) {
            in.write(new byte[4], 0, 4);
            assertEquals(10, only().size());
            assertEquals(4, only().bytes());
            in.write(new byte[6], 0, 6);
            in.commit();
        }
        assertEquals(0, meter.active().size());
    }

    @Test
    void anUploadOfUnknownSizeShowsMinusOne() throws IOException {
        try (UserFiles.Inbound in = files.upload("/b.bin")) {
            assertEquals(-1, only().size());
            in.abort();
        }
    }

    @Test
    void aDownloadShowsTheLengthBeingSent() throws IOException {
        try (UserFiles.Inbound in = files.uploadOfSize("/c.bin", 10)) {
            in.write(new byte[10], 0, 10);
            in.commit();
        }
        try (InputStream in = files.download("/c.bin", 3, -1)) {
            assertEquals(7, only().size());
            in.readAllBytes();
        }
    }
}
