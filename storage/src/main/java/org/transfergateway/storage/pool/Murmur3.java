package org.transfergateway.storage.pool;

/**
 * MurmurHash3 x64 128-bit (Austin Appleby's public-domain reference, seed 0), keeping the
 * first 64 bits: the same as Guava's {@code Hashing.murmur3_128().hashBytes(b).asLong()}.
 *
 * <p>Placements by hash depend on these exact values across runs, JVMs and releases, so the
 * function is written out here (no dependency to change under us) and pinned by tests.
 */
final class Murmur3 {
    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    private Murmur3() {}

    static long hash64(byte[] data) {
        int len = data.length;
        long h1 = 0;
        long h2 = 0;
        int blocks = len / 16;
        for (int b = 0; b < blocks; b++) {
            long k1 = littleEndianLong(data, b * 16);
            long k2 = littleEndianLong(data, b * 16 + 8);
            h1 ^= mixK1(k1);
            h1 = Long.rotateLeft(h1, 27) + h2;
            h1 = h1 * 5 + 0x52dce729;
            h2 ^= mixK2(k2);
            h2 = Long.rotateLeft(h2, 31) + h1;
            h2 = h2 * 5 + 0x38495ab5;
        }
        int tail = len & 15;
        int base = blocks * 16;
        if (tail > 8) {
            long k2 = 0;
            for (int i = tail - 1; i >= 8; i--) {
                k2 ^= (data[base + i] & 0xffL) << ((i - 8) * 8);
            }
            h2 ^= mixK2(k2);
        }
        if (tail > 0) {
            long k1 = 0;
            for (int i = Math.min(tail, 8) - 1; i >= 0; i--) {
                k1 ^= (data[base + i] & 0xffL) << (i * 8);
            }
            h1 ^= mixK1(k1);
        }
        h1 ^= len;
        h2 ^= len;
        h1 += h2;
        h2 += h1;
        h1 = fmix64(h1);
        h2 = fmix64(h2);
        return h1 + h2;
    }

    private static long mixK1(long k1) {
        return Long.rotateLeft(k1 * C1, 31) * C2;
    }

    private static long mixK2(long k2) {
        return Long.rotateLeft(k2 * C2, 33) * C1;
    }

    private static long fmix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    private static long littleEndianLong(byte[] b, int i) {
        return (b[i] & 0xffL)
                | (b[i + 1] & 0xffL) << 8
                | (b[i + 2] & 0xffL) << 16
                | (b[i + 3] & 0xffL) << 24
                | (b[i + 4] & 0xffL) << 32
                | (b[i + 5] & 0xffL) << 40
                | (b[i + 6] & 0xffL) << 48
                | (b[i + 7] & 0xffL) << 56;
    }
}
