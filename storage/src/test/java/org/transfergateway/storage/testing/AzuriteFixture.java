package org.transfergateway.storage.testing;

import static org.junit.jupiter.api.Assertions.fail;

import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobServiceClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.common.StorageSharedKeyCredential;
import com.azure.storage.common.sas.AccountSasPermission;
import com.azure.storage.common.sas.AccountSasResourceType;
import com.azure.storage.common.sas.AccountSasService;
import com.azure.storage.common.sas.AccountSasSignatureValues;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.transfergateway.config.AzureBackendConfig;

/**
 * A real Azure Blob Storage service for tests: Azurite ({@code azurite-blob}, the npm
 * package {@code azurite}) on the loopback address, on a free port, storing into a
 * temporary folder. Test classes share one server, started on first use and stopped when
 * the JVM ends; each uses its own containers. A test that takes the server down (an
 * outage: {@link #kill()}, then {@link #restart()} on the same port and data) starts its
 * own with {@link #startOwn()}.
 *
 * <p>Where {@code azurite-blob} is not on the PATH (or named by {@code AZURITE_BLOB}) the
 * test is skipped, unless GATEWAY_TEST_REQUIRE_CLIENTS=1 (as in CI) makes that a failure.
 */
public final class AzuriteFixture implements AutoCloseable {
    /** Azurite's well-known development account. */
    public static final String ACCOUNT = "devstoreaccount1";
    public static final String KEY =
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static AzuriteFixture shared;
    private static String unavailable;

    private final List<String> args;
    private Process process;
    private final Path dataDir;
    private final int port;
    private BlobServiceClient client;

    private AzuriteFixture(List<String> args, Process process, Path dataDir, int port) {
        this.args = args;
        this.process = process;
        this.dataDir = dataDir;
        this.port = port;
    }

    /** The JVM-wide server, started on first use; skips (or fails, in CI) the test without Azurite. */
    public static synchronized AzuriteFixture shared() {
        if (shared == null && unavailable == null) {
            try {
                shared = start();
                Runtime.getRuntime().addShutdownHook(new Thread(shared::close, "azurite-fixture-shutdown"));
            } catch (IOException e) {
                unavailable = e.getMessage();
            }
        }
        if (shared == null) {
            if ("1".equals(System.getenv("GATEWAY_TEST_REQUIRE_CLIENTS"))) {
                fail("Azurite is not available, and GATEWAY_TEST_REQUIRE_CLIENTS=1 requires it: " + unavailable);
            }
            Assumptions.assumeTrue(false, "Azurite is not available: " + unavailable);
        }
        return shared;
    }

    /** A server of the caller's own, to be {@link #close() closed} by it; skips (or fails, in CI) without Azurite. */
    public static AzuriteFixture startOwn() {
        shared(); // the same check whether Azurite is there at all
        try {
            return start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static AzuriteFixture start() throws IOException {
        String command = System.getenv().getOrDefault("AZURITE_BLOB", "azurite-blob");
        Path dataDir = Files.createTempDirectory("azurite-test");
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // Azurite takes no port 0: a free one is picked here
        }
        List<String> args = new ArrayList<>(List.of(command, "--blobHost", "127.0.0.1", "--blobPort", String.valueOf(port),
                "--location", dataDir.toString(), "--silent", "--skipApiVersionCheck", "--disableTelemetry", "--loose"));
        try {
            return new AzuriteFixture(args, launch(args, dataDir, port), dataDir, port);
        } catch (IOException e) {
            deleteTree(dataDir);
            throw e;
        }
    }

    private static Process launch(List<String> args, Path dataDir, int port) throws IOException {
        String command = args.get(0);
        Process p;
        try {
            p = new ProcessBuilder(args).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(dataDir.resolve("azurite.log").toFile())).start();
        } catch (IOException e) {
            throw new IOException(command + " did not start: " + e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                String log = Files.readString(dataDir.resolve("azurite.log"));
                throw new IOException(command + " exited with " + p.exitValue() + ": " + log.strip());
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return p;
            } catch (IOException notYet) {
                sleep(100);
            }
        }
        p.destroyForcibly();
        throw new IOException(command + " did not listen on port " + port + " within 30 seconds");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The account's blob endpoint, path-style as Azurite serves it. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port + "/" + ACCOUNT);
    }

    public int port() {
        return port;
    }

    /** A plain SDK client of this server, for preparing and checking what a test did. */
    public synchronized BlobServiceClient client() {
        if (client == null) {
            client = new BlobServiceClientBuilder().endpoint(endpoint().toString())
                    .httpClient(new JdkHttpClientBuilder().build())
                    .credential(new StorageSharedKeyCredential(ACCOUNT, KEY)).buildClient();
        }
        return client;
    }

    /** Creates the container {@code name}; an existing one is kept. */
    public BlobContainerClient createContainer(String name) {
        BlobContainerClient c = client().getBlobContainerClient(name);
        c.createIfNotExists();
        return c;
    }

    public void deleteContainer(String name) {
        client().getBlobContainerClient(name).deleteIfExists();
    }

    /**
     * An account SAS of the development account for the blob service, allowing everything
     * on containers and blobs until {@code expiry}, signed with the account key.
     */
    public String accountSas(OffsetDateTime expiry) {
        return client().generateAccountSas(new AccountSasSignatureValues(expiry,
                AccountSasPermission.parse("rwdlacup"), new AccountSasService().setBlobAccess(true),
                new AccountSasResourceType().setContainer(true).setObject(true).setService(true)));
    }

    /** A backend of container {@code container} on this server, with the SAS {@code sasToken} instead of the key. */
    public AzureBackendConfig sasBackend(String name, String container, String prefix, String sasToken) {
        return new AzureBackendConfig(name, container, prefix, endpoint(), ACCOUNT, null, null, sasToken, 0);
    }

    /** A backend of container {@code container} on this server, with the account key. */
    public AzureBackendConfig backend(String name, String container, String prefix) {
        return new AzureBackendConfig(name, container, prefix, endpoint(), ACCOUNT, KEY, null, null, 0);
    }

    /**
     * Kills the server at once (SIGKILL), as a crash or a pulled cable would: requests in
     * progress are cut off and connections refused until {@link #restart()}. What Azurite
     * had not yet written to its data folder is lost, as in a real crash.
     */
    public synchronized void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts the server again on the same port over the same data, after {@link #kill()}. */
    public synchronized void restart() {
        try {
            process = launch(args, dataDir, port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * True once Azurite has saved to its data folder a container named {@code name}: it keeps
     * its metadata in memory and saves it every few seconds, so a kill before that would
     * forget the container, not just what a test wants lost.
     */
    public boolean saved(String name) {
        try (Stream<Path> files = Files.list(dataDir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("__azurite_db_blob__"))
                    .anyMatch(f -> {
                        try {
                            return Files.readString(f).contains("\"" + name + "\"");
                        } catch (IOException e) {
                            return false; // being written: the next look will tell
                        }
                    });
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public synchronized void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        deleteTree(dataDir);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
