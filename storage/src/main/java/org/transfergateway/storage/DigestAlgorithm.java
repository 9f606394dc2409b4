package org.transfergateway.storage;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * The digests the gateway computes of objects: SHA-256, which the ledger keeps for every
 * object uploaded whole, and those that clients ask for or send (FTP HASH, HTTP
 * Content-MD5 and Repr-Digest). The JDK computes them all (SHA with the CPU's
 * instructions where it has them).
 */
public enum DigestAlgorithm {
    SHA_256("SHA-256"),
    SHA_512("SHA-512"),
    SHA_1("SHA-1"),
    MD5("MD5"),
    CRC32("CRC32");

    private final String label;

    DigestAlgorithm(String label) {
        this.label = label;
    }

    /** The name as FTP HASH and the JDK spell it: SHA-256, SHA-1, MD5, CRC32. */
    public String label() {
        return label;
    }

    /** The algorithm named {@code label} in any case, or null when none is. */
    public static DigestAlgorithm byLabel(String label) {
        for (DigestAlgorithm a : values()) {
            if (a.label.equalsIgnoreCase(label)) {
                return a;
            }
        }
        return null;
    }

    /** A new computation of this digest. */
    public Hasher start() {
        if (this == CRC32) {
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            return new Hasher() {
                @Override
                public void update(ByteBuffer bytes) {
                    crc.update(bytes);
                }

                @Override
                public byte[] finish() {
                    return ByteBuffer.allocate(4).putInt((int) crc.getValue()).array();
                }
            };
        }
        MessageDigest md;
        try {
            md = MessageDigest.getInstance(label);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has " + label, e);
        }
        return new Hasher() {
            @Override
            public void update(ByteBuffer bytes) {
                md.update(bytes);
            }

            @Override
            public byte[] finish() {
                return md.digest();
            }
        };
    }

    /** Lower-case hexadecimal, as FTP HASH and sha256sum show digests. */
    public static String hex(byte[] digest) {
        return java.util.HexFormat.of().formatHex(digest).toLowerCase(Locale.ROOT);
    }

    /** One digest being computed. Not thread-safe. */
    public interface Hasher {
        /** Takes the remaining bytes of {@code bytes}; its position ends at its limit. */
        void update(ByteBuffer bytes);

        default void update(byte[] bytes, int offset, int length) {
            update(ByteBuffer.wrap(bytes, offset, length));
        }

        /** The digest of everything taken; the hasher is not used after. */
        byte[] finish();
    }
}
