package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.Upload;

/**
 * How the S3 backend meets answers that a healthy S3 server does not give on demand:
 * 5xx, 403, an error inside a 200, a body that never ends, slow parts, objects over
 * 5 GiB. A scripted HTTP server plays the bucket; everything it is not told otherwise
 * answers as S3 would.
 */
class S3StorageErrorTest {
    private static final int PART = S3StorageTest.PART;

    /** What the scripted server answers to one request, or null for the default. */
    private interface Script {
        boolean handle(HttpExchange exchange, String request) throws IOException;
    }

    private final List<String> requests = new CopyOnWriteArrayList<>();
    private volatile Script script = (exchange, request) -> false;
    private HttpServer server;
    private S3Storage storage;

    @BeforeEach
    void startScriptedServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::answer);
        server.start();
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        S3BackendConfig cfg = new S3BackendConfig("fake", "bucket", "", "us-east-1", endpoint, true,
                "access", "secret", S3BackendConfig.Checksums.WHEN_REQUIRED);
        MemoryBudget budget = new MemoryBudget(4L * PART);
        storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)), budget);
        requests.clear();
    }

    @AfterEach
    void stopServer() {
        storage.close();
        server.stop(0);
    }

    private void answer(HttpExchange exchange) throws IOException {
        try (exchange) {
            try (InputStream body = exchange.getRequestBody()) {
                body.transferTo(OutputStream.nullOutputStream());
            }
            String query = exchange.getRequestURI().getRawQuery();
            String request = exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()
                    + (query != null ? "?" + query : "");
            String range = exchange.getRequestHeaders().getFirst("x-amz-copy-source-range");
            requests.add(range != null ? request + " " + range : request);
            if (script.handle(exchange, request)) {
                return;
            }
            if (request.startsWith("GET /bucket?uploads")) {
                xml(exchange, 200, "<ListMultipartUploadsResult><Bucket>bucket</Bucket><IsTruncated>false</IsTruncated>"
                        + "</ListMultipartUploadsResult>");
            } else if (request.startsWith("POST /bucket/") && request.contains("?uploads")) {
                xml(exchange, 200, "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>"
                        + "<UploadId>up1</UploadId></InitiateMultipartUploadResult>");
            } else if (request.startsWith("PUT ")) {
                exchange.getResponseHeaders().add("ETag", "\"etag\"");
                exchange.sendResponseHeaders(200, -1);
            } else if (request.startsWith("DELETE ")) {
                exchange.sendResponseHeaders(204, -1);
            } else {
                exchange.sendResponseHeaders(200, -1);
            }
        }
    }

    private static void xml(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/xml");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    private long count(String request) {
        return requests.stream().filter(r -> r.equals(request)).count();
    }

    @Test
    void serverErrorsAreRetriedThenReportedAsBackendFailed() {
        script = (exchange, request) -> {
            if (request.equals("HEAD /bucket/x")) {
                exchange.sendResponseHeaders(503, -1);
                return true;
            }
            return false;
        };
        GatewayException e = assertThrows(GatewayException.class, () -> storage.stat("x"));
        assertEquals(ErrorCode.BACKEND_FAILED, e.code());
        assertTrue(e.getMessage().startsWith("fake: reading the attributes of x failed: HTTP 503"), e.getMessage());
        assertEquals(S3Clients.MAX_ATTEMPTS, count("HEAD /bucket/x"));
    }

    @Test
    void accessDeniedIsForbidden() {
        script = (exchange, request) -> {
            if (request.startsWith("GET /bucket/secret")) {
                xml(exchange, 403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
                return true;
            }
            return false;
        };
        GatewayException e = assertThrows(GatewayException.class, () -> storage.read("secret", 0, -1));
        assertEquals(ErrorCode.FORBIDDEN, e.code());
        assertTrue(e.getMessage().contains("secret") && e.getMessage().contains("access denied"), e.getMessage());
    }

    @Test
    void anErrorInsideA200CompleteIsAFailureAndTheUploadIsAborted() throws IOException {
        script = (exchange, request) -> {
            if (request.startsWith("POST /bucket/k?uploadId=up1")) {
                xml(exchange, 200, "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>");
                return true;
            }
            return false;
        };
        Upload u = storage.create("k");
        u.write(ByteBuffer.wrap(new byte[2 * PART + 1]));
        GatewayException e = assertThrows(GatewayException.class, u::commit);
        assertEquals(ErrorCode.BACKEND_FAILED, e.code());
        assertTrue(e.getMessage().contains("completing the upload of k"), e.getMessage());
        assertEquals(3, requests.stream().filter(r -> r.startsWith("PUT /bucket/k?")).count(), requests.toString());
        assertEquals(1, count("DELETE /bucket/k?uploadId=up1"), requests.toString());
    }

    @Test
    void aPartThatKeepsFailingFailsTheUploadAndAbortsIt() throws IOException {
        script = (exchange, request) -> {
            if (request.startsWith("PUT /bucket/k?partNumber=2")) {
                exchange.sendResponseHeaders(500, -1);
                return true;
            }
            return false;
        };
        Upload u = storage.create("k");
        GatewayException e = assertThrows(GatewayException.class, () -> {
            u.write(ByteBuffer.wrap(new byte[3 * PART + 1]));
            u.commit();
        });
        assertEquals(ErrorCode.BACKEND_FAILED, e.code());
        assertTrue(e.getMessage().contains("part 2 of k"), e.getMessage());
        assertEquals(1, count("DELETE /bucket/k?uploadId=up1"), requests.toString());
        assertTrue(requests.stream().noneMatch(r -> r.startsWith("POST /bucket/k?uploadId")), "never completed");
    }

    @Test
    void closingAReadEarlyAbortsInsteadOfDrainingTheRest() throws IOException {
        script = (exchange, request) -> {
            if (request.equals("GET /bucket/endless")) {
                // Announces a gigabyte, then trickles: draining it would take minutes.
                exchange.sendResponseHeaders(200, 1L << 30);
                byte[] chunk = new byte[64 * 1024];
                try {
                    for (int i = 0; i < 600; i++) {
                        exchange.getResponseBody().write(chunk);
                        exchange.getResponseBody().flush();
                        Thread.sleep(100);
                    }
                } catch (IOException | InterruptedException gone) {
                    // the client hung up, as it should
                }
                return true;
            }
            return false;
        };
        InputStream in = storage.read("endless", 0, -1);
        assertEquals(0, in.read());
        assertTimeoutPreemptively(Duration.ofSeconds(5), in::close);
    }

    @Test
    void noMoreThanPartConcurrencyPartsOfOneUploadAreInFlight() throws IOException {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        script = (exchange, request) -> {
            if (request.startsWith("PUT /bucket/k?partNumber")) {
                most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                sleep(150);
                inFlight.decrementAndGet();
            }
            return false;
        };
        MemoryBudget roomy = new MemoryBudget(8L * PART);
        try (S3Storage two = openWith(roomy, 2)) {
            S3StorageTest.upload(two, "k", new byte[6 * PART]);
        }
        assertEquals(2, most.get(), "parts run in parallel, two at a time");
        assertEquals(6, requests.stream().filter(r -> r.startsWith("PUT /bucket/k?partNumber")).count());
    }

    @Test
    void aWriterBlocksWhileTheBudgetIsHeldBySlowPartsAndFinishesOnceTheyAreDone() throws Exception {
        CountDownLatch partsMayFinish = new CountDownLatch(1);
        script = (exchange, request) -> {
            if (request.startsWith("PUT /bucket/k?partNumber")) {
                try {
                    partsMayFinish.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return false;
        };
        MemoryBudget twoParts = new MemoryBudget(2L * PART);
        try (S3Storage tight = openWith(twoParts, 4)) {
            Upload u = tight.create("k");
            AtomicLong writtenBeforeBlocking = new AtomicLong();
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 5; i++) {
                        u.write(ByteBuffer.wrap(new byte[PART]));
                        writtenBeforeBlocking.set(u.written());
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            writer.start();
            // Two buffers: one part in flight, one full and waiting to be sent; then the writer waits.
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (writer.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(300);
            assertEquals(Thread.State.WAITING, writer.getState(), "the writer waits for memory");
            assertEquals(2L * PART, writtenBeforeBlocking.get());
            assertEquals(2L * PART, twoParts.inUseBytes());

            partsMayFinish.countDown();
            writer.join(10_000);
            assertEquals(5L * PART, u.written());
            u.commit();
            assertEquals(5, requests.stream().filter(r -> r.startsWith("PUT /bucket/k?partNumber")).count());
        }
        assertEquals(0, twoParts.inUseBytes());
    }

    @Test
    void movingAnObjectOverFiveGibIsAMultipartCopy() throws IOException {
        long size = 6 * PartPlan.GIB;
        script = (exchange, request) -> {
            if (request.equals("HEAD /bucket/big")) {
                exchange.getResponseHeaders().add("Content-Length", String.valueOf(size));
                exchange.getResponseHeaders().add("ETag", "\"e\"");
                exchange.sendResponseHeaders(200, -1);
                return true;
            }
            if (request.startsWith("GET /bucket?list-type=2")) {
                xml(exchange, 200, "<ListBucketResult><Name>bucket</Name><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>");
                return true;
            }
            if (request.startsWith("PUT /bucket/moved?partNumber")) {
                xml(exchange, 200, "<CopyPartResult><ETag>\"p\"</ETag></CopyPartResult>");
                return true;
            }
            if (request.startsWith("POST /bucket/moved?uploadId")) {
                xml(exchange, 200, "<CompleteMultipartUploadResult><Bucket>bucket</Bucket><Key>moved</Key><ETag>\"m-12\"</ETag></CompleteMultipartUploadResult>");
                return true;
            }
            return false;
        };
        storage.move("big", "moved");

        List<String> copies = requests.stream().filter(r -> r.startsWith("PUT /bucket/moved?partNumber")).sorted().toList();
        assertEquals(PartPlan.copyParts(size).size(), copies.size());
        assertTrue(copies.contains("PUT /bucket/moved?partNumber=12&uploadId=up1 bytes=" + 11 * 512 * PartPlan.MIB + "-" + (size - 1)),
                copies.toString());
        assertEquals(1, count("POST /bucket/moved?uploadId=up1"));
        assertEquals(1, count("DELETE /bucket/big"), "the source goes once the copy is complete");
    }

    private S3Storage openWith(MemoryBudget budget, int concurrency) throws IOException {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        S3BackendConfig cfg = new S3BackendConfig("fake", "bucket", "", "us-east-1", endpoint, true,
                "access", "secret", S3BackendConfig.Checksums.WHEN_REQUIRED);
        return S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, concurrency, Duration.ofDays(1)), budget);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
