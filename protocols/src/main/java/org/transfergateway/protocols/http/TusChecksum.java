package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaders;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.CRC32;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * The checksum one tus chunk announces ({@code Upload-Checksum: <algorithm> <base64>}),
 * computed over the chunk's bytes as they arrive. CRC32 is its four bytes, big-endian.
 */
final class TusChecksum {
    static final String ALGORITHMS = "sha1,md5,crc32";

    private final String algorithm;
    private final byte[] expected;
    private final MessageDigest digest;
    private final CRC32 crc;

    private TusChecksum(String algorithm, byte[] expected) throws GatewayException {
        this.algorithm = algorithm;
        this.expected = expected;
        try {
            this.digest = switch (algorithm) {
                case "sha1" -> MessageDigest.getInstance("SHA-1");
                case "md5" -> MessageDigest.getInstance("MD5");
                default -> null;
            };
        } catch (NoSuchAlgorithmException e) {
            throw ErrorCode.INTERNAL.exception("the JVM lacks " + algorithm);
        }
        this.crc = algorithm.equals("crc32") ? new CRC32() : null;
    }

    /** The checksum the request announces, or null when it announces none. */
    static TusChecksum of(HttpHeaders h) throws GatewayException {
        String v = h.get("Upload-Checksum");
        if (v == null) {
            return null;
        }
        String[] parts = v.trim().split(" ");
        if (parts.length != 2) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Checksum: \"" + v + "\" is not an algorithm and a base64 value");
        }
        String algorithm = parts[0].toLowerCase(java.util.Locale.ROOT);
        if (!Arrays.asList(ALGORITHMS.split(",")).contains(algorithm)) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Checksum: " + parts[0] + " is not supported; use one of "
                    + ALGORITHMS);
        }
        byte[] expected;
        try {
            expected = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Checksum: the value is not base64");
        }
        return new TusChecksum(algorithm, expected);
    }

    /** Takes the bytes of {@code chunk} between its position and limit, leaving both as they are. */
    void update(ByteBuffer chunk) {
        ByteBuffer b = chunk.duplicate();
        if (digest != null) {
            digest.update(b);
        } else {
            crc.update(b);
        }
    }

    boolean matches() {
        byte[] actual = digest != null ? digest.digest() : ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
        return MessageDigest.isEqual(actual, expected);
    }

    String algorithm() {
        return algorithm;
    }
}
