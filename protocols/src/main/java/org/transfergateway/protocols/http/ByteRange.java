package org.transfergateway.protocols.http;

/**
 * A single byte range of a {@code Range: bytes=...} header, resolved against a file
 * size. Multiple ranges are not supported; such a header is ignored and the whole file
 * is sent, which RFC 9110 allows.
 *
 * @param offset first byte
 * @param length number of bytes
 */
record ByteRange(long offset, long length) {

    /** Thrown when the range lies wholly beyond the file: 416. */
    static final class Unsatisfiable extends Exception {
        private static final long serialVersionUID = 1L;

        Unsatisfiable(String header) {
            super(header);
        }
    }

    long last() {
        return offset + length - 1;
    }

    /** The range asked for, or null when the header is absent, malformed or multiple. */
    static ByteRange parse(String header, long size) throws Unsatisfiable {
        if (header == null || !header.startsWith("bytes=")) {
            return null;
        }
        String spec = header.substring("bytes=".length()).trim();
        if (spec.indexOf(',') >= 0) {
            return null;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        String first = spec.substring(0, dash).trim();
        String last = spec.substring(dash + 1).trim();
        try {
            if (first.isEmpty()) {
                // A suffix: the last n bytes.
                long n = Long.parseLong(last);
                if (n <= 0 || size == 0) {
                    throw new Unsatisfiable(header);
                }
                long len = Math.min(n, size);
                return new ByteRange(size - len, len);
            }
            long start = Long.parseLong(first);
            long end = last.isEmpty() ? size - 1 : Long.parseLong(last);
            if (start < 0 || (!last.isEmpty() && end < start)) {
                return null;
            }
            if (start >= size) {
                throw new Unsatisfiable(header);
            }
            end = Math.min(end, size - 1);
            return new ByteRange(start, end - start + 1);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
