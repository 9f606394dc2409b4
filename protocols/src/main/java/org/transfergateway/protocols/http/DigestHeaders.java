package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaders;
import java.io.IOException;
import java.util.Base64;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.UserFiles;

/**
 * The digest headers of the {@code /files} API and WebDAV. A PUT may announce its body's
 * digest with {@code Content-MD5} (base64 of MD5, RFC 1864) or {@code Repr-Digest}
 * (RFC 9530: sha-256, sha-512, md5); the upload checks it before the commit, and a body
 * that does not match is refused (400) with nothing stored. GET and HEAD of a file whose
 * SHA-256 the ledger recorded answer {@code Repr-Digest: sha-256=:<base64>:}, and
 * {@code Digest: SHA-256=<base64>} (RFC 3230) when {@code Want-Digest} asks for SHA-256.
 */
final class DigestHeaders {
    static final String CONTENT_MD5 = "Content-MD5";
    static final String REPR_DIGEST = "Repr-Digest";
    static final String WANT_DIGEST = "Want-Digest";
    static final String DIGEST = "Digest";

    /** Repr-Digest's algorithm keys that the gateway checks. */
    private static final Map<String, DigestAlgorithm> KNOWN = Map.of(
            "sha-256", DigestAlgorithm.SHA_256, "sha-512", DigestAlgorithm.SHA_512, "md5", DigestAlgorithm.MD5);

    private DigestHeaders() {
    }

    /**
     * The digests that the request announces for its body. A Repr-Digest of algorithms
     * none of which is known, or a malformed header, is BAD_REQUEST: the body could not be
     * checked as the client asked. Unknown algorithms beside a known one are ignored.
     */
    static Map<DigestAlgorithm, byte[]> announced(HttpHeaders h) throws GatewayException {
        Map<DigestAlgorithm, byte[]> out = new EnumMap<>(DigestAlgorithm.class);
        List<String> md5 = h.getAll(CONTENT_MD5);
        if (md5.size() > 1) {
            throw ErrorCode.BAD_REQUEST.exception("more than one Content-MD5");
        }
        if (md5.size() == 1) {
            out.put(DigestAlgorithm.MD5, decode(CONTENT_MD5, md5.get(0).trim(), DigestAlgorithm.MD5));
        }
        List<String> repr = h.getAll(REPR_DIGEST);
        if (repr.isEmpty()) {
            return out;
        }
        boolean anyKnown = false;
        // A Structured Fields dictionary (RFC 8941): key=:base64:[;params], comma-separated; several lines join.
        for (String member : String.join(",", repr).split(",")) {
            String m = member.trim();
            if (m.isEmpty()) {
                continue;
            }
            int eq = m.indexOf('=');
            if (eq <= 0) {
                throw ErrorCode.BAD_REQUEST.exception("Repr-Digest: " + m + " is not algorithm=:base64:");
            }
            String key = m.substring(0, eq).trim().toLowerCase(Locale.ROOT);
            String value = m.substring(eq + 1).trim();
            int params = value.indexOf(';', value.indexOf(':', 1) + 1);
            if (params >= 0) {
                value = value.substring(0, params).trim();
            }
            if (value.length() < 2 || value.charAt(0) != ':' || value.charAt(value.length() - 1) != ':') {
                throw ErrorCode.BAD_REQUEST.exception("Repr-Digest: the value of " + key + " is not a byte sequence (:base64:)");
            }
            DigestAlgorithm a = KNOWN.get(key);
            if (a == null) {
                continue;
            }
            anyKnown = true;
            byte[] d = decode("Repr-Digest " + key, value.substring(1, value.length() - 1), a);
            byte[] before = out.putIfAbsent(a, d);
            if (before != null && !java.util.Arrays.equals(before, d)) {
                throw ErrorCode.BAD_REQUEST.exception("two different " + a.label() + " digests announced");
            }
        }
        if (!anyKnown) {
            throw ErrorCode.BAD_REQUEST.exception("Repr-Digest names no algorithm this server checks (sha-256, sha-512, md5)");
        }
        return out;
    }

    private static byte[] decode(String header, String base64, DigestAlgorithm a) throws GatewayException {
        byte[] d;
        try {
            d = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.BAD_REQUEST.exception(header + ": " + base64 + " is not base64");
        }
        int length = a.start().finish().length;
        if (d.length != length) {
            throw ErrorCode.BAD_REQUEST.exception(header + ": a " + a.label() + " digest has " + length + " bytes, not " + d.length);
        }
        return d;
    }

    /** Makes {@code upload} check the digests that {@code request} announces. */
    static void expect(HttpHeaders request, UserFiles.Inbound upload) throws IOException {
        for (Map.Entry<DigestAlgorithm, byte[]> e : announced(request).entrySet()) {
            upload.expectDigest(e.getKey(), e.getValue());
        }
    }

    /** Adds the headers that tell the file's SHA-256 ({@code sha256} null: none known). */
    static void describe(HttpHeaders response, HttpHeaders request, byte[] sha256) {
        if (sha256 == null) {
            return;
        }
        String b64 = Base64.getEncoder().encodeToString(sha256);
        response.set(REPR_DIGEST, "sha-256=:" + b64 + ":");
        if (wantsSha256(request.getAll(WANT_DIGEST))) {
            response.set(DIGEST, "SHA-256=" + b64);
        }
    }

    /** True when a Want-Digest (RFC 3230: {@code SHA-256;q=0.5, MD5}) accepts SHA-256. */
    static boolean wantsSha256(List<String> want) {
        for (String member : String.join(",", want).split(",")) {
            String[] parts = member.trim().split(";");
            if (!parts[0].trim().equalsIgnoreCase("SHA-256")) {
                continue;
            }
            boolean refused = false;
            for (int i = 1; i < parts.length; i++) {
                String p = parts[i].trim().toLowerCase(Locale.ROOT);
                if (p.startsWith("q=")) {
                    try {
                        refused = Double.parseDouble(p.substring(2)) <= 0;
                    } catch (NumberFormatException e) {
                        refused = true;
                    }
                }
            }
            if (!refused) {
                return true;
            }
        }
        return false;
    }
}
