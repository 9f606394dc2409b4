package org.transfergateway.storage.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Properties;
import java.util.stream.Stream;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.S3BackendConfig;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 server for tests: S3Proxy on the loopback address, checking SigV2/SigV4
 * signatures, storing either into a temporary folder ({@code filesystem} provider) or
 * in memory ({@code transient} provider).
 *
 * <p>The {@code filesystem} provider suits large bodies, but lists every directory it
 * made on disk as a key ending in "/" and shows multipart parts in progress as
 * {@code .mpus-} keys; exact assertions on folders and listings therefore use the
 * {@code transient} provider, which keeps keys flat as S3 does.
 *
 * <p>Test classes share one server per provider through {@link #shared()} and
 * {@link #sharedInMemory()}, started on first use and stopped when the JVM ends; each
 * uses its own buckets. A test that stops the server ({@link #stop()} /
 * {@link #restart()}, same port, same data) starts its own with {@link #start} and
 * closes it.
 */
public final class S3ProxyFixture implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(S3ProxyFixture.class);

    public static final String ACCESS_KEY = "gateway-test-access";
    public static final String SECRET_KEY = "gateway-test-secret";
    public static final String REGION = "us-east-1";
    /**
     * S3Proxy refuses a single SigV4 request with a signed, non-chunked payload above this
     * (its default is 32 MiB). The SDK sends part bodies over plain HTTP as aws-chunked
     * streams, which the limit does not apply to; it is raised anyway so that parts up
     * to the backend's largest buffer (1 GiB) pass however they are signed.
     */
    public static final long V4_MAX_NON_CHUNKED_REQUEST_SIZE = 1L << 30;

    /** Where S3Proxy keeps the objects. */
    public enum Provider { FILESYSTEM, IN_MEMORY }

    private static S3ProxyFixture shared;
    private static S3ProxyFixture sharedInMemory;

    private final Provider provider;
    private final Path dataDir;
    private int port;
    private BlobStoreContext context;
    private S3Proxy proxy;
    private S3Client client;

    private S3ProxyFixture(Provider provider) throws Exception {
        this.provider = provider;
        dataDir = Files.createTempDirectory("s3proxy-test");
        startProxy();
    }

    /** The JVM-wide server storing into a temporary folder, started on first use. */
    public static synchronized S3ProxyFixture shared() {
        if (shared == null) {
            shared = startShared(Provider.FILESYSTEM);
        }
        return shared;
    }

    /** The JVM-wide server storing in memory, started on first use: keep its data small. */
    public static synchronized S3ProxyFixture sharedInMemory() {
        if (sharedInMemory == null) {
            sharedInMemory = startShared(Provider.IN_MEMORY);
        }
        return sharedInMemory;
    }

    private static S3ProxyFixture startShared(Provider provider) {
        S3ProxyFixture s = start(provider);
        Runtime.getRuntime().addShutdownHook(new Thread(s::close, "s3proxy-fixture-shutdown"));
        return s;
    }

    /** A server of its own; the caller closes it. */
    public static S3ProxyFixture start(Provider provider) {
        try {
            return new S3ProxyFixture(provider);
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not start: " + e, e);
        }
    }

    private void startProxy() throws Exception {
        if (context == null) {
            // Kept across stop() and restart(), so that the data survives a restart.
            Properties properties = new Properties();
            properties.setProperty("jclouds.filesystem.basedir", dataDir.toString());
            context = ContextBuilder.newBuilder(provider == Provider.FILESYSTEM ? "filesystem" : "transient")
                    .credentials("identity", "credential")
                    .overrides(properties)
                    .build(BlobStoreContext.class);
        }
        proxy = S3Proxy.builder()
                .blobStore(context.getBlobStore())
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .v4MaxNonChunkedRequestSize(V4_MAX_NON_CHUNKED_REQUEST_SIZE)
                .build();
        proxy.start();
        while (!"STARTED".equals(proxy.getState())) {
            Thread.sleep(10);
        }
        port = proxy.getPort();
        log.debug("S3Proxy listening at {} storing into {}", endpoint(), dataDir);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public String accessKey() {
        return ACCESS_KEY;
    }

    public String secretKey() {
        return SECRET_KEY;
    }

    /** A plain SDK client of this server, for checking what a test did. */
    public synchronized S3Client client() {
        if (client == null) {
            client = S3Client.builder()
                    .httpClientBuilder(Apache5HttpClient.builder())
                    .endpointOverride(endpoint())
                    .forcePathStyle(true)
                    .region(Region.of(REGION))
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .build();
        }
        return client;
    }

    /**
     * Stores an object straight into the server's blob store, past HTTP and signing:
     * the quick way to fill a bucket with many keys.
     */
    public void seed(String bucket, String key, byte[] content) {
        var store = context.getBlobStore();
        store.putBlob(bucket, store.blobBuilder(key).payload(content).contentLength((long) content.length).build());
    }

    /** As {@link #seed(String, String, byte[])}, with user metadata (as {@code x-amz-meta-*} shows it). */
    public void seed(String bucket, String key, byte[] content, java.util.Map<String, String> metadata) {
        var store = context.getBlobStore();
        store.putBlob(bucket, store.blobBuilder(key).payload(content).contentLength((long) content.length)
                .userMetadata(metadata).build());
    }

    /** Removes the bucket {@code name} and everything in it, to give memory back. */
    public void deleteBucket(String name) {
        context.getBlobStore().deleteContainer(name);
    }

    /** Creates the bucket {@code name} (at least 3 characters); an existing one is kept. */
    public void createBucket(String name) {
        if (!context.getBlobStore().containerExists(name)) {
            client().createBucket(b -> b.bucket(name));
        }
    }

    /**
     * A backend of bucket {@code bucket} on this server. Checksums only when required:
     * S3Proxy 2.6.0 refuses the SDK's default uploads (CRC32 in a signed aws-chunked
     * trailer) with {@code XAmzContentSHA256Mismatch}.
     */
    public S3BackendConfig backend(String name, String bucket, String prefix) {
        return backend(name, bucket, prefix, S3BackendConfig.Checksums.WHEN_REQUIRED);
    }

    public S3BackendConfig backend(String name, String bucket, String prefix, S3BackendConfig.Checksums checksums) {
        return new S3BackendConfig(name, bucket, prefix, REGION, endpoint(), true, ACCESS_KEY, SECRET_KEY, checksums);
    }

    /** Stops the server; connections are refused until {@link #restart()}. */
    public synchronized void stop() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not stop: " + e, e);
        }
    }

    /** Starts the server again on the same port with the same data. */
    public synchronized void restart() {
        try {
            startProxy();
        } catch (Exception e) {
            throw new IllegalStateException("S3Proxy did not restart on port " + port + ": " + e, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (client != null) {
                client.close();
            }
            if (!"STOPPED".equals(proxy.getState())) {
                stop();
            }
            context.close();
        } finally {
            deleteTree(dataDir);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
