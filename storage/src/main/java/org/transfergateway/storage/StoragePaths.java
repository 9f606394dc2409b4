package org.transfergateway.storage;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The one path normaliser of the gateway: FTP and HTTP paths both pass through it before
 * they become keys, so a path that one protocol refuses the other refuses too.
 *
 * <p>A user path is absolute inside the user's home ("/" is the home). "." and ".."
 * segments are resolved, empty segments ("//") collapse, and ".." above the home is
 * refused rather than clamped, so that a client never lands somewhere it did not name.
 * Names such as "..." or "..hidden" are ordinary names.
 */
public final class StoragePaths {
    /** S3's limit on a key, in UTF-8 bytes; local disk gets the same so both backends agree. */
    public static final int MAX_KEY_BYTES = 1024;

    private StoragePaths() {
    }

    /**
     * Resolves {@code path} (absolute, or relative to {@code cwd}) to a normalised absolute
     * user path: "/" or "/a/b" without a trailing slash.
     */
    public static String normalize(String cwd, String path) throws GatewayException {
        if (path == null) {
            throw ErrorCode.BAD_PATH.exception("no path given");
        }
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw ErrorCode.BAD_PATH.exception("the path contains a control character");
            }
            if (c == '\\') {
                throw ErrorCode.BAD_PATH.exception("the path contains a backslash");
            }
        }
        Deque<String> segments = new ArrayDeque<>();
        if (!path.startsWith("/")) {
            push(segments, cwd == null ? "/" : cwd);
        }
        push(segments, path);
        if (segments.isEmpty()) {
            return "/";
        }
        return "/" + String.join("/", segments);
    }

    private static void push(Deque<String> segments, String path) throws GatewayException {
        for (String s : path.split("/")) {
            if (s.isEmpty() || s.equals(".")) {
                continue;
            }
            if (s.equals("..")) {
                if (segments.isEmpty()) {
                    throw ErrorCode.BAD_PATH.exception("the path leads above the home folder");
                }
                segments.removeLast();
            } else {
                segments.addLast(s);
            }
        }
    }

    /**
     * The backend key of a normalised user path under {@code home} ("/alice"):
     * "/reports/q1.csv" gives "alice/reports/q1.csv"; "/" gives "alice".
     */
    public static String key(String home, String userPath) throws GatewayException {
        String h = home.equals("/") ? "" : home.substring(1);
        String p = userPath.equals("/") ? "" : userPath.substring(1);
        String key = h.isEmpty() ? p : p.isEmpty() ? h : h + "/" + p;
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw ErrorCode.BAD_PATH.exception("the path is longer than " + MAX_KEY_BYTES + " bytes");
        }
        return key;
    }

    /** The parent of a normalised user path; "/" for "/" itself. */
    public static String parent(String userPath) {
        int slash = userPath.lastIndexOf('/');
        return slash <= 0 ? "/" : userPath.substring(0, slash);
    }
}
