package org.transfergateway.storage.s3;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * The SDK clients of one S3 backend, on the Apache 5 HTTP transport: one that retries,
 * one that tries once, and the connection pool they share. Built with the configured
 * region, endpoint, path style, credentials, checksum mode and payload signing.
 */
final class S3Clients implements AutoCloseable {
    /**
     * Attempts per request, the first included. Throttling, 5xx answers and reset
     * connections are retried with the SDK's standard jittered backoff; part bodies sit
     * in memory, so every request can be replayed. Five attempts ride out a few seconds
     * of trouble without holding a failing transfer for long.
     */
    static final int MAX_ATTEMPTS = 5;
    /** At least this many pooled connections; the budget may call for more. */
    static final int MIN_CONNECTIONS = 16;

    /** The client for every request that can be replayed: {@link #MAX_ATTEMPTS} attempts. */
    final S3Client client;
    /** The client for requests that cannot be retried (a body streamed from a client): one attempt. */
    final S3Client once;
    /** The connection pool both clients share. */
    private final SdkHttpClient http;

    private S3Clients(S3Client client, S3Client once, SdkHttpClient http) {
        this.client = client;
        this.once = once;
        this.http = http;
    }

    /**
     * Clients for the bucket of {@code cfg} over a pool of {@code connections}, once the
     * bucket answers (HeadBucket).
     *
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with a one-line
     *                          message naming the backend, bucket and endpoint when the
     *                          bucket cannot be reached
     */
    static S3Clients connect(S3BackendConfig cfg, int connections) throws GatewayException {
        SdkHttpClient http = Apache5HttpClient.builder().maxConnections(connections).build();
        S3Client client = buildClient(cfg, http, MAX_ATTEMPTS);
        S3Client once = buildClient(cfg, http, 1);
        try {
            client.headBucket(b -> b.bucket(cfg.bucket()));
        } catch (SdkException e) {
            once.close();
            client.close();
            http.close();
            String where = cfg.endpoint() != null ? cfg.endpoint().toString() : "AWS region " + cfg.region();
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(cfg.name() + ": bucket " + cfg.bucket() + " at " + where
                    + " is unreachable: " + S3Errors.reason(e), e);
        }
        return new S3Clients(client, once, http);
    }

    private static S3Client buildClient(S3BackendConfig cfg, SdkHttpClient http, int attempts) {
        S3ClientBuilder b = S3Client.builder()
                .httpClient(http)
                .region(Region.of(cfg.region() == null ? "us-east-1" : cfg.region()))
                .forcePathStyle(cfg.pathStyle())
                .credentialsProvider(credentials(cfg))
                .overrideConfiguration(o -> o.retryStrategy(
                        AwsRetryStrategy.standardRetryStrategy().toBuilder().maxAttempts(attempts).build()));
        if (cfg.endpoint() != null) {
            b.endpointOverride(cfg.endpoint());
        }
        if (!cfg.signedPayloads()) {
            b.putAuthScheme(UnsignedPayloadSigner.scheme());
        }
        if (cfg.checksums() == S3BackendConfig.Checksums.WHEN_REQUIRED) {
            b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        return b.build();
    }

    private static AwsCredentialsProvider credentials(S3BackendConfig cfg) {
        if (cfg.accessKey() != null && cfg.secretKey() != null) {
            return StaticCredentialsProvider.create(AwsBasicCredentials.create(cfg.accessKey(), cfg.secretKey()));
        }
        return DefaultCredentialsProvider.builder().build();
    }

    /** Daemon threads named {@code namePrefix} and a number, for the backend's executor. */
    static ThreadFactory threads(String namePrefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, namePrefix + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        once.close();
        client.close();
        http.close(); // shared by both clients, so closed by neither
    }
}
