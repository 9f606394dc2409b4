package org.transfergateway.storage.testing;

import java.io.InputStream;

/**
 * A deterministic stream of any length, generated as it is read and never held in
 * memory: the same size and seed give the same bytes, for large uploads in tests.
 */
public class PatternStream extends InputStream {
    private long remaining;
    private int x;

    public PatternStream(long size, int seed) {
        this.remaining = size;
        this.x = seed;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        if (remaining <= 0) {
            return -1;
        }
        int n = (int) Math.min(len, remaining);
        for (int i = 0; i < n; i++) {
            x = x * 1103515245 + 12345;
            b[off + i] = (byte) (x >>> 16);
        }
        remaining -= n;
        return n;
    }
}
