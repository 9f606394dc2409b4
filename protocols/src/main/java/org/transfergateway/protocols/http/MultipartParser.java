package org.transfergateway.protocols.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * A streaming {@code multipart/form-data} parser (RFC 7578 / RFC 2046). Bytes go in as
 * they arrive, in chunks of any size; part content comes out as soon as it cannot be
 * the start of a boundary, so at most one chunk plus a boundary is ever held. A boundary
 * split across chunks is found all the same.
 */
final class MultipartParser {
    /** Part headers larger than this are refused: they are never legitimate. */
    static final int MAX_HEADER_BYTES = 16 * 1024;

    /** One part's disposition: its field name and, for a file, its file name. */
    record Part(String name, String filename) {
    }

    /** Told of parts in order; data is valid only during the call and must be consumed. */
    interface Listener {
        void partStarted(Part part) throws IOException;

        void partData(ByteBuffer data) throws IOException;

        void partEnded() throws IOException;
    }

    private enum State { PREAMBLE, AFTER_DELIMITER, HEADERS, BODY, EPILOGUE }

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] HEADERS_END = {'\r', '\n', '\r', '\n'};

    private final byte[] delimiter;
    private final Listener listener;
    private State state = State.PREAMBLE;
    private byte[] buf = new byte[8 * 1024];
    private int start;
    private int end;

    MultipartParser(String boundary, Listener listener) {
        this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        this.listener = listener;
        // The first boundary needs no line break before it: pretend there was one.
        buf[end++] = '\r';
        buf[end++] = '\n';
    }

    /** The boundary parameter of a {@code multipart/form-data} Content-Type. */
    static String boundary(String contentType) throws GatewayException {
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            throw ErrorCode.BAD_REQUEST.exception("expected multipart/form-data, got " + contentType);
        }
        String b = HeaderParams.parse(contentType).get("boundary");
        if (b == null || b.isEmpty() || b.length() > 70) {
            throw ErrorCode.BAD_REQUEST.exception("multipart/form-data without a valid boundary");
        }
        return b;
    }

    void feed(ByteBuffer chunk) throws IOException {
        append(chunk);
        parse();
    }

    /** The body ended: it must have ended with the closing boundary. */
    void finish() throws GatewayException {
        if (state != State.EPILOGUE) {
            throw ErrorCode.BAD_REQUEST.exception("the multipart body ended before its closing boundary");
        }
    }

    private void append(ByteBuffer chunk) {
        int n = chunk.remaining();
        if (start > 0) {
            System.arraycopy(buf, start, buf, 0, end - start);
            end -= start;
            start = 0;
        }
        if (end + n > buf.length) {
            byte[] bigger = new byte[Math.max(buf.length * 2, end + n)];
            System.arraycopy(buf, 0, bigger, 0, end);
            buf = bigger;
        }
        chunk.get(buf, end, n);
        end += n;
    }

    private void parse() throws IOException {
        while (true) {
            switch (state) {
                case PREAMBLE -> {
                    int i = indexOf(delimiter);
                    if (i < 0) {
                        start = Math.max(start, end - (delimiter.length - 1));
                        return;
                    }
                    start = i + delimiter.length;
                    state = State.AFTER_DELIMITER;
                }
                case AFTER_DELIMITER -> {
                    if (end - start < 2) {
                        return;
                    }
                    if (buf[start] == '-' && buf[start + 1] == '-') {
                        start += 2;
                        state = State.EPILOGUE;
                        continue;
                    }
                    int i = indexOf(CRLF);
                    if (i < 0) {
                        if (end - start > 256) {
                            throw ErrorCode.BAD_REQUEST.exception("garbage after a multipart boundary");
                        }
                        return;
                    }
                    for (int k = start; k < i; k++) {
                        if (buf[k] != ' ' && buf[k] != '\t') {
                            throw ErrorCode.BAD_REQUEST.exception("garbage after a multipart boundary");
                        }
                    }
                    start = i + 2;
                    state = State.HEADERS;
                }
                case HEADERS -> {
                    if (end - start < 2) {
                        return;
                    }
                    String headers;
                    if (buf[start] == '\r' && buf[start + 1] == '\n') {
                        headers = "";
                        start += 2;
                    } else {
                        int i = indexOf(HEADERS_END);
                        if (i < 0) {
                            if (end - start > MAX_HEADER_BYTES) {
                                throw ErrorCode.BAD_REQUEST.exception("multipart part headers are too large");
                            }
                            return;
                        }
                        headers = new String(buf, start, i - start, StandardCharsets.UTF_8);
                        start = i + HEADERS_END.length;
                    }
                    state = State.BODY;
                    listener.partStarted(part(headers));
                }
                case BODY -> {
                    int i = indexOf(delimiter);
                    if (i < 0) {
                        // Everything but a possible start of the delimiter is content.
                        int safe = end - (delimiter.length - 1);
                        if (safe > start) {
                            listener.partData(ByteBuffer.wrap(buf, start, safe - start));
                            start = safe;
                        }
                        return;
                    }
                    if (i > start) {
                        listener.partData(ByteBuffer.wrap(buf, start, i - start));
                    }
                    start = i + delimiter.length;
                    state = State.AFTER_DELIMITER;
                    listener.partEnded();
                }
                case EPILOGUE -> {
                    start = end;
                    return;
                }
                default -> throw new IllegalStateException(state.toString());
            }
        }
    }

    private int indexOf(byte[] pattern) {
        outer:
        for (int i = start; i <= end - pattern.length; i++) {
            for (int k = 0; k < pattern.length; k++) {
                if (buf[i + k] != pattern[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static Part part(String headers) throws GatewayException {
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            if (!line.substring(0, colon).trim().equalsIgnoreCase("Content-Disposition")) {
                continue;
            }
            var params = HeaderParams.parse(line.substring(colon + 1));
            String filename = params.get("filename*");
            if (filename != null) {
                filename = extended(filename);
            } else {
                filename = params.get("filename");
            }
            return new Part(params.get("name"), filename);
        }
        return new Part(null, null);
    }

    /** An RFC 5987 value: {@code UTF-8''percent-encoded}. */
    private static String extended(String value) throws GatewayException {
        int q = value.indexOf("''");
        if (q < 0 || !value.substring(0, q).equalsIgnoreCase("UTF-8")) {
            throw ErrorCode.BAD_REQUEST.exception("unsupported filename* encoding: " + value);
        }
        return UserPaths.decode(value.substring(q + 2));
    }
}
