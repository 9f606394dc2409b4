package org.transfergateway.storage.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Uploads in progress hold the quota they may use, on one gateway (in memory): a second
 * upload cannot take the bytes or the file a first one holds, an upload of unknown size
 * grows its hold as it writes and gives back what it did not write, and every end (commit,
 * refusal, abort) gives the hold back.
 */
class QuotaReservationTest {
    @TempDir
    Path dir;

    private TransferMeter meter;
    private UserFiles files;

    @BeforeEach
    void open() throws IOException {
        meter = TransferMeter.inMemory();
        files = new UserFiles(new LocalStorage("local", dir), "carol", "/carol", Protocol.of("test"), meter,
                new UserPolicy(true, true, true, 1000, 2), 0);
    }

    private static void refused(ErrorCode code, Executable e) {
        GatewayException g = assertThrows(GatewayException.class, e::run);
        assertEquals(code, g.code(), g.getMessage());
    }

    private interface Executable {
        void run() throws IOException;
    }

    @Test
    void anUploadInProgressHoldsItsAnnouncedBytes() throws IOException {
        try (UserFiles.Inbound first = files.uploadOfSize("/a.bin", 600)) {
            refused(ErrorCode.TOO_LARGE, () -> files.uploadOfSize("/b.bin", 600).close());
            // 400 bytes are left beside the 600 held.
            try (UserFiles.Inbound second = files.uploadOfSize("/b.bin", 400)) {
                second.write(new byte[400], 0, 400);
                second.commit();
            }
            first.write(new byte[600], 0, 600);
            first.commit();
        }
        assertEquals(new StoredTotals(1000, 2), meter.storedOfUser("carol"));
        refused(ErrorCode.TOO_LARGE, () -> files.uploadOfSize("/a.bin", 1).close());
    }

    @Test
    void anUploadOfUnknownSizeHoldsWhatItWritesAndGivesBackTheRest() throws IOException {
        try (UserFiles.Inbound first = files.upload("/a.bin")) {
            first.write(new byte[300], 0, 300);
            // Its first step held the whole room: the other upload finds none.
            refused(ErrorCode.TOO_LARGE, () -> files.uploadOfSize("/b.bin", 1).close());
            first.commit();
        }
        try (UserFiles.Inbound second = files.upload("/b.bin")) {
            second.write(new byte[700], 0, 700);
            refused(ErrorCode.TOO_LARGE, () -> second.write(new byte[1], 0, 1));
        }
        assertEquals(new StoredTotals(300, 1), meter.storedOfUser("carol"));
        assertEquals(false, Files.exists(dir.resolve("carol/b.bin")));
        try (UserFiles.Inbound third = files.uploadOfSize("/b.bin", 700)) {
            third.write(new byte[700], 0, 700);
            third.commit();
        }
        assertEquals(new StoredTotals(1000, 2), meter.storedOfUser("carol"));
    }

    @Test
    void aNewFileHoldsOneOfTheFilesQuotaAndAReplacementNone() throws IOException {
        try (UserFiles.Inbound a = files.uploadOfSize("/a.bin", 1); UserFiles.Inbound b = files.uploadOfSize("/b.bin", 1)) {
            refused(ErrorCode.TOO_LARGE, () -> files.uploadOfSize("/c.bin", 1).close());
            a.write(new byte[1], 0, 1);
            a.commit();
            b.write(new byte[1], 0, 1);
            b.commit();
        }
        // At the quota of files, an existing file may still be written again.
        try (UserFiles.Inbound again = files.uploadOfSize("/a.bin", 5)) {
            again.write(new byte[5], 0, 5);
            again.commit();
        }
        refused(ErrorCode.TOO_LARGE, () -> files.uploadOfSize("/c.bin", 1).close());
        assertEquals(new StoredTotals(6, 2), meter.storedOfUser("carol"));
    }
}
