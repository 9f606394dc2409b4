package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Modification times on the S3 backend as rclone keeps them, checked with a plain SDK
 * client against S3Proxy: the user metadata {@code mtime} in seconds since the epoch, read
 * from objects another client stored and written so that such a client reads it.
 */
class S3ModifiedTimesTest {
    private static final Logger log = LoggerFactory.getLogger(S3ModifiedTimesTest.class);
    private static final String PREFIX = "gw/";
    private static final Instant TIME = Instant.parse("2001-02-03T04:05:06.123456789Z");

    private final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private final S3Client plain = s3.client();
    private String bucket;
    private S3Storage storage;

    @BeforeEach
    void newBucket() throws IOException {
        bucket = "m-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
        S3BackendConfig cfg = s3.backend("archive", bucket, PREFIX);
        MemoryBudget budget = new MemoryBudget(64L << 20);
        storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5 << 20, 2, Duration.ofDays(1)),
                budget);
    }

    @AfterEach
    void closeAndDropTheBucket() {
        storage.close();
        s3.deleteBucket(bucket);
    }

    private void putPlain(String key, String content, String contentType, Map<String, String> metadata) {
        plain.putObject(b -> b.bucket(bucket).key(PREFIX + key).contentType(contentType).metadata(metadata),
                RequestBody.fromString(content));
    }

    @Test
    void aTimeSetIsKeptAsRcloneKeepsItWithTheOtherMetadataAndTheBytes() throws IOException {
        putPlain("report.csv", "a,b\n1,2\n", "text/csv", Map.of("owner", "alice"));
        HeadObjectResponse before = plain.headObject(b -> b.bucket(bucket).key(PREFIX + "report.csv"));

        storage.setModified("report.csv", TIME);

        HeadObjectResponse after = plain.headObject(b -> b.bucket(bucket).key(PREFIX + "report.csv"));
        assertEquals(Map.of("mtime", "981173106.123456789", "owner", "alice"), after.metadata());
        assertEquals("text/csv", after.contentType());
        assertEquals(8L, after.contentLength());
        assertEquals(before.eTag(), after.eTag(), "the same bytes, so the same MD5 ETag");
        assertArrayEquals("a,b\n1,2\n".getBytes(StandardCharsets.US_ASCII),
                plain.getObjectAsBytes(b -> b.bucket(bucket).key(PREFIX + "report.csv")).asByteArray());
        assertEquals(TIME, storage.stat("report.csv").modified());
    }

    @Test
    void objectsAnotherClientStoredShowTheTimeItKept() throws IOException {
        putPlain("d/fraction.bin", "x", "application/octet-stream", Map.of("mtime", "1700000000.5"));
        putPlain("d/whole.bin", "y", "application/octet-stream", Map.of("mtime", "1700000001"));
        putPlain("d/nanos.bin", "z", "application/octet-stream", Map.of("mtime", "1700000002.000000001"));
        putPlain("d/unreadable.bin", "w", "application/octet-stream", Map.of("mtime", "yesterday"));
        Instant unreadable = plain.headObject(b -> b.bucket(bucket).key(PREFIX + "d/unreadable.bin")).lastModified();

        assertEquals(Instant.parse("2023-11-14T22:13:20.5Z"), storage.stat("d/fraction.bin").modified());
        assertEquals(Instant.parse("2023-11-14T22:13:21Z"), storage.stat("d/whole.bin").modified());
        assertEquals(Instant.parse("2023-11-14T22:13:22.000000001Z"), storage.stat("d/nanos.bin").modified());
        assertEquals(unreadable, storage.stat("d/unreadable.bin").modified(), "an unreadable value leaves the object's own time");
        assertEquals(List.of(Instant.parse("2023-11-14T22:13:20.5Z"), Instant.parse("2023-11-14T22:13:22.000000001Z"),
                        unreadable, Instant.parse("2023-11-14T22:13:21Z")),
                storage.list("d").stream().map(ObjectInfo::modified).toList());
    }

    @Test
    void theCopyOntoItselfHoldsOnlyWhileTheETagIsTheOneRead() {
        // setModified relies on the service refusing a copy whose source changed since it was read.
        putPlain("c.bin", "first", "application/octet-stream", Map.of());
        String stale = plain.headObject(b -> b.bucket(bucket).key(PREFIX + "c.bin")).eTag();
        putPlain("c.bin", "second", "application/octet-stream", Map.of());
        S3Exception refused = assertThrows(S3Exception.class, () -> plain.copyObject(b -> b.sourceBucket(bucket)
                .sourceKey(PREFIX + "c.bin").destinationBucket(bucket).destinationKey(PREFIX + "c.bin")
                .copySourceIfMatch(stale).metadataDirective("REPLACE").metadata(Map.of("mtime", "1"))));
        assertEquals(412, refused.statusCode());
        assertEquals(Map.of(), plain.headObject(b -> b.bucket(bucket).key(PREFIX + "c.bin")).metadata());
    }

    /**
     * A listing of 1,000 files costs one HeadObject each, 16 at once, for their kept times:
     * every time comes through, and the time taken is logged beside that of the listing
     * requests alone.
     */
    @Test
    void aListingOfAThousandFilesReportsEveryKeptTime() throws IOException {
        for (int i = 0; i < 1000; i++) {
            s3.seed(bucket, PREFIX + "many/" + String.format("f%04d", i), new byte[] {(byte) i},
                    Map.of("mtime", Long.toString(1_600_000_000L + i)));
        }
        storage.list("many"); // connections opened
        long start = System.nanoTime();
        List<ObjectInfo> listed = storage.list("many");
        long millis = (System.nanoTime() - start) / 1_000_000;
        start = System.nanoTime();
        int[] walked = {0};
        storage.walk("many", o -> walked[0]++); // the same ListObjectsV2 pages, no HeadObject
        long listOnly = (System.nanoTime() - start) / 1_000_000;
        log.info("a listing of 1,000 files with their kept times took {} ms; the ListObjectsV2 pages alone {} ms",
                millis, listOnly);
        assertEquals(1000, walked[0]);
        assertEquals(1000, listed.size());
        for (int i = 0; i < 1000; i++) {
            assertEquals(Instant.ofEpochSecond(1_600_000_000L + i), listed.get(i).modified(), listed.get(i).key());
        }
    }
    /**
     * {@code listing-times: server}: listings show S3's own LastModified without a
     * HeadObject per file, while a stat still reads the kept time.
     */
    @Test
    void withServerListingTimesAListingShowsLastModifiedAndAStatTheKeptTime() throws IOException {
        s3.seed(bucket, PREFIX + "few/a.bin", new byte[] {1}, Map.of("mtime", "1600000000.5"));
        S3BackendConfig kept = s3.backend("archive", bucket, PREFIX);
        S3BackendConfig cfg = new S3BackendConfig(kept.name(), kept.bucket(), kept.prefix(), kept.region(),
                kept.endpoint(), kept.pathStyle(), kept.accessKey(), kept.secretKey(), kept.checksums(), 0, 0, true, true);
        MemoryBudget budget = new MemoryBudget(16L << 20);
        try (S3Storage server = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5 << 20, 2,
                Duration.ofDays(1)), budget)) {
            Instant lastModified = plain.headObject(b -> b.bucket(bucket).key(PREFIX + "few/a.bin")).lastModified();
            List<ObjectInfo> listed = server.list("few");
            assertEquals(1, listed.size());
            assertEquals(lastModified, listed.get(0).modified());
            assertEquals(Instant.ofEpochSecond(1_600_000_000L, 500_000_000), server.stat("few/a.bin").modified());
            assertEquals(Instant.ofEpochSecond(1_600_000_000L, 500_000_000), storage.list("few").get(0).modified());
        }
    }
}
