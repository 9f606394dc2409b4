package org.transfergateway.storage.s3;

import java.util.concurrent.CompletableFuture;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.scheme.AwsV4AuthScheme;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.scheme.AuthScheme;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.identity.spi.IdentityProviders;

/**
 * SigV4 that leaves upload bodies unsigned on a plain-HTTP endpoint too
 * ({@code payload-signing: false}), as the SDK does by itself over HTTPS.
 *
 * <p>Over HTTP the SDK signs every 128 KiB of a PutObject or UploadPart body
 * (aws-chunked with a SHA-256 and an HMAC per chunk, in a new array per chunk): a
 * second SHA-256 of every byte besides the gateway's own, and three quarters of the
 * gateway's allocations in a busy mixed run into S3. The headers are still signed; the
 * body is sent as {@code UNSIGNED-PAYLOAD}, or with the trailing checksum that
 * {@code checksums: when-supported} adds. The SDK decides on the request's scheme, so
 * the request is signed as if it were HTTPS (the signature covers the Host header, not
 * the scheme) and then sent as it was.
 */
final class UnsignedPayloadSigner implements HttpSigner<AwsCredentialsIdentity> {
    private final AwsV4HttpSigner v4 = AwsV4HttpSigner.create();

    /** The SigV4 auth scheme with this signer, for {@code S3ClientBuilder.putAuthScheme}. */
    static AuthScheme<AwsCredentialsIdentity> scheme() {
        UnsignedPayloadSigner signer = new UnsignedPayloadSigner();
        return new AuthScheme<>() {
            @Override
            public String schemeId() {
                return AwsV4AuthScheme.SCHEME_ID;
            }

            @Override
            public IdentityProvider<AwsCredentialsIdentity> identityProvider(IdentityProviders providers) {
                return providers.identityProvider(AwsCredentialsIdentity.class);
            }

            @Override
            public HttpSigner<AwsCredentialsIdentity> signer() {
                return signer;
            }
        };
    }

    @Override
    public SignedRequest sign(SignRequest<? extends AwsCredentialsIdentity> request) {
        SdkHttpRequest original = request.request();
        if (!"http".equals(original.protocol())) {
            return v4.sign(request);
        }
        SignedRequest signed = v4.sign(request.copy(b -> b.request(original.toBuilder().protocol("https").build())));
        return signed.copy(b -> b.request(signed.request().toBuilder().protocol("http").build()));
    }

    @Override
    public CompletableFuture<AsyncSignedRequest> signAsync(AsyncSignRequest<? extends AwsCredentialsIdentity> request) {
        SdkHttpRequest original = request.request();
        if (!"http".equals(original.protocol())) {
            return v4.signAsync(request);
        }
        return v4.signAsync(request.copy(b -> b.request(original.toBuilder().protocol("https").build())))
                .thenApply(signed -> signed.copy(b -> b.request(signed.request().toBuilder().protocol("http").build())));
    }
}
