package org.transfergateway.protocols.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * Turns the path of a request URI into the user path handed to storage: the query is
 * dropped and percent escapes are decoded once, as UTF-8. Normalising and refusing
 * escapes from the home is left to storage, so FTP and HTTP refuse alike.
 */
final class UserPaths {
    private UserPaths() {
    }

    /** The raw path of a request URI, without query or fragment. */
    static String rawPath(String uri) {
        int end = uri.length();
        int q = uri.indexOf('?');
        if (q >= 0) {
            end = q;
        }
        int h = uri.indexOf('#');
        if (h >= 0 && h < end) {
            end = h;
        }
        return uri.substring(0, end);
    }

    /**
     * Decodes %XX escapes once; '+' stays a plus sign, as in any URI path. Netty reads the
     * request line as ISO-8859-1, so unescaped UTF-8 bytes arrive as chars up to 0xFF and
     * are taken back as bytes.
     */
    static String decode(String raw) throws GatewayException {
        if (raw.chars().allMatch(c -> c != '%' && c < 0x80)) {
            return raw;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c > 0xFF) {
                throw ErrorCode.BAD_PATH.exception("the path has a character outside ISO-8859-1 unescaped");
            }
            if (c != '%') {
                bytes.write(c);
                continue;
            }
            if (i + 2 >= raw.length()) {
                throw ErrorCode.BAD_PATH.exception("incomplete percent escape in " + raw);
            }
            int hi = Character.digit(raw.charAt(i + 1), 16);
            int lo = Character.digit(raw.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                throw ErrorCode.BAD_PATH.exception("bad percent escape in " + raw);
            }
            bytes.write(hi << 4 | lo);
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw ErrorCode.BAD_PATH.exception("the path is not UTF-8: " + raw);
        }
    }
}
