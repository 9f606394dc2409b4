package org.transfergateway.config;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;

/**
 * Checks the form of an OpenSSH public key line ({@code ssh-ed25519 AAAA… comment}) at load
 * time, without an SSH library: a known key type, base64 that decodes, and a key blob that
 * names the same type. The SFTP front end parses the key itself when it starts.
 */
final class AuthorizedKeys {
    /** The types OpenSSH accepts for user keys with its current defaults (no DSA). */
    static final Set<String> TYPES = Set.of("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com");

    private AuthorizedKeys() {
    }

    /** Null when {@code line} is a usable public key line, else what is wrong with it. */
    static String problem(String line) {
        String[] parts = line.trim().split("\\s+");
        if (parts.length < 2 || parts[0].isEmpty()) {
            return "is not an OpenSSH public key line (type, base64 key, optional comment)";
        }
        String type = parts[0];
        if (!TYPES.contains(type)) {
            return type + " is not a supported key type (" + String.join(", ", new java.util.TreeSet<>(TYPES)) + ")";
        }
        byte[] blob;
        try {
            blob = Base64.getDecoder().decode(parts[1]);
        } catch (IllegalArgumentException e) {
            return "the " + type + " key is not valid base64";
        }
        ByteBuffer b = ByteBuffer.wrap(blob);
        if (b.remaining() < 4) {
            return "the " + type + " key is truncated";
        }
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) {
            return "the " + type + " key is truncated";
        }
        byte[] inner = new byte[n];
        b.get(inner);
        String named = new String(inner, StandardCharsets.US_ASCII);
        if (!named.equals(type)) {
            return "the key data is of type " + named + ", not " + type;
        }
        if (type.equals("ssh-ed25519")) {
            // string "ssh-ed25519", then string of the 32-byte public key, and nothing else
            if (b.remaining() != 4 + 32 || b.getInt() != 32) {
                return "the ssh-ed25519 key does not hold a 32-byte public key";
            }
        } else if (!b.hasRemaining()) {
            return "the " + type + " key is truncated";
        }
        return null;
    }
}
