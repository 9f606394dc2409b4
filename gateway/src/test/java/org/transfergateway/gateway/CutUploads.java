package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.transfergateway.storage.meter.Counters;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What the tests of clients killed mid-upload read after each cut: the gateway's running
 * transfers and totals, and what the S3 bucket holds.
 */
final class CutUploads {
    private CutUploads() {
    }

    /** Waits (at most 20 s) until the gateway runs no transfer, the cut one counted. */
    static void awaitNoActiveTransfer(Gateway gateway) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!gateway.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(gateway.meter().active().isEmpty(), "a transfer is still running");
    }

    static Counters totals(Gateway gateway, String user) {
        return gateway.meter().statistics(u -> true).transferredByUser().getOrDefault(user, Counters.ZERO);
    }

    static byte[] s3Object(S3Client s3, String bucket, String key) {
        return s3.getObjectAsBytes(b -> b.bucket(bucket).key(key)).asByteArray();
    }

    static int openMultipartUploads(S3Client s3, String bucket) {
        return s3.listMultipartUploads(b -> b.bucket(bucket)).uploads().size();
    }
}
