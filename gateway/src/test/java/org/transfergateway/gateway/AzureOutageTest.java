package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.ListBlobsOptions;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.TransferRecord;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.PatternStream;

/**
 * Azure Blob Storage going away in the middle of an upload: Azurite (an instance of this
 * test's own, so that the shared one stays up) is killed while an HTTP or FTP upload
 * streams through the gateway. The client gets a clear failure reply, the transfer is
 * counted failed exactly once with the bytes it brought, nothing of it is visible (no
 * blob, no staged blocks) once Azurite is back, and the gateway serves again. Over HTTP
 * both ways an upload of announced size goes: in blocks, and as one streamed Put Blob.
 */
class AzureOutageTest {
    /** Beyond the 256 MiB sent as one Put Blob: staged blocks. */
    private static final long SIZE = 300L << 20;
    /** Within them: one streamed Put Blob, which Azurite never completes. */
    private static final long STREAMED_SIZE = 200L << 20;
    /** Where the client holds still until Azurite is down: a few blocks staged, more to come. */
    private static final long HOLD_AT = 40L << 20;
    private static final Logger log = LoggerFactory.getLogger(AzureOutageTest.class);
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"http", "http-streamed", "ftp"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void azuriteKilledMidUploadGivesAClearFailureLeavesNothingAndTheGatewayGoesOn(String variant) throws Exception {
        boolean streamed = variant.equals("http-streamed");
        String protocol = streamed ? "http" : variant;
        long size = streamed ? STREAMED_SIZE : SIZE;
        ExecutorService client = Executors.newSingleThreadExecutor();
        try (AzuriteFixture own = AzuriteFixture.startOwn()) {
            BlobContainerClient container = own.createContainer(GatewayOverAzureTest.CONTAINER);
            // Azurite saves its metadata every few seconds: a kill before that would forget the container too.
            await(() -> own.saved(GatewayOverAzureTest.CONTAINER), "Azurite saved the container");
            String passive = protocol.equals("ftp") ? "53620-53640" : streamed ? "53661-53680" : "53641-53660";
            try (Gateway g = Gateway.start(new ConfigLoader(GatewayOverAzureTest.ENV)
                    .parse(GatewayOverAzureTest.yaml(own, passive, dir.resolve("ledger"))))) {
                HoldingStream body = new HoldingStream(size, HOLD_AT);
                Future<String> reply = client.submit(() -> upload(g, protocol, "outage.bin", body, size));
                await(body::holding, "the client sent " + HOLD_AT + " bytes");
                // Blocks staged and saved by Azurite, so that a leftover could be seen after the
                // restart; a streamed Put Blob stages none, its body goes on arriving at Azurite.
                await(() -> g.meter().active().stream().anyMatch(t -> t.bytes() >= HOLD_AT - (8L << 20))
                        && (streamed || own.saved("gw/alice/outage.bin")), "blocks of the upload staged and saved");
                own.kill();
                body.release();

                String answer = reply.get(120, TimeUnit.SECONDS);
                log.info("{}: the client's upload ended with: {}", protocol, answer);
                if (protocol.equals("http")) {
                    // The gateway answers before the body ends, and may close the connection on the rest.
                    assertTrue(answer.equals("connection closed") || answer.matches("50[23] \\{\"error\":\"backend_[a-z_]+\".*"), answer);
                } else {
                    assertTrue(answer.startsWith("451 "), answer);
                }
                awaitNoActiveTransfers(g);

                own.restart();
                // The gateway serves again, and tries again the discard that Azurite did not answer.
                assertEquals(protocol.equals("http") ? "201" : "226", upload(g, protocol, "after.bin",
                        new ByteArrayInputStream("back".getBytes()), 4).substring(0, 3));
                assertFalse(container.getBlobClient("gw/alice/outage.bin").exists());
                assertEquals(List.of(), stagedOnly(container));
                assertEquals("back", container.getBlobClient("gw/alice/after.bin").downloadContent().toString());

                List<TransferRecord> failed = g.meter().recent(10, "alice", null).stream()
                        .filter(r -> r.path().endsWith("outage.bin")).toList();
                assertEquals(1, failed.size(), failed.toString());
                assertFalse(failed.get(0).succeeded());
                long bytes = failed.get(0).bytes();
                assertTrue(bytes >= HOLD_AT - (8L << 20) && bytes <= size, bytes + " bytes");
                Counters total = g.meter().statistics(u -> true).transferred();
                assertEquals(1, total.failedIn(), total.toString());
                assertEquals(1, total.filesIn(), total.toString());
                assertEquals(bytes + 4, total.bytesIn(), total.toString());
            }
        } finally {
            client.shutdownNow();
        }
    }

    /** Uploads {@code body}; the reply as a status code and text, or "connection closed". */
    private static String upload(Gateway g, String protocol, String name, InputStream body, long size) throws Exception {
        if (protocol.equals("ftp")) {
            FTPClient ftp = GatewayOverAzureTest.ftp(g.ftpAddress().getPort());
            try (body) {
                try {
                    ftp.storeFile(name, body);
                } catch (IOException e) {
                    // The gateway dropped the data connection on the failure: its reply follows on the control one.
                    ftp.getReply();
                }
                return ftp.getReplyString().strip();
            } finally {
                ftp.disconnect();
            }
        }
        HttpRequest put = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + "/files/" + name))
                .header("Authorization", GatewayOverAzureTest.auth())
                .PUT(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> body), size))
                .build();
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(put, HttpResponse.BodyHandlers.ofString());
            return r.statusCode() + " " + r.body();
        } catch (IOException e) {
            return "connection closed";
        }
    }

    private static List<String> stagedOnly(BlobContainerClient container) {
        Set<String> committed = container.listBlobs().stream().map(BlobItem::getName).collect(Collectors.toSet());
        return container.listBlobs(new ListBlobsOptions().setDetails(new BlobListDetails().setRetrieveUncommittedBlobs(true)), null)
                .stream().map(BlobItem::getName).filter(n -> !committed.contains(n)).toList();
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); !condition.getAsBoolean(); Thread.sleep(20)) {
            assertTrue(System.nanoTime() < deadline, "waited 30 s for: " + what);
        }
    }

    private static void awaitNoActiveTransfers(Gateway g) throws InterruptedException {
        await(() -> g.meter().active().isEmpty(), "no transfer active");
    }

    /** A body that stops at {@code holdAt} bytes until {@link #release()}: the client keeps the upload open meanwhile. */
    static final class HoldingStream extends PatternStream {
        private final long holdAt;
        private final CountDownLatch reached = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);
        private long read;

        HoldingStream(long size, long holdAt) {
            super(size, 21);
            this.holdAt = holdAt;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (read == holdAt) {
                reached.countDown();
                try {
                    released.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return -1;
                }
            }
            int n = super.read(b, off, (int) Math.min(len, read < holdAt ? holdAt - read : len));
            read += Math.max(0, n);
            return n;
        }

        boolean holding() {
            return reached.getCount() == 0;
        }

        void release() {
            released.countDown();
        }
    }
}
