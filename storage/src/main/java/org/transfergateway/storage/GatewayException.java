package org.transfergateway.storage;

import java.io.IOException;

/**
 * A failure with a known {@link ErrorCode}. Its message is either for the user (what and
 * why, naming only the user's own paths: {@link ErrorCode#exception}) or for the log only
 * ({@link ErrorCode#failure}); {@link #describe} gives what a reply may show in either case.
 * An {@link IOException} because it travels through stream and MINA FtpServer APIs.
 */
public final class GatewayException extends IOException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final boolean forUser;

    public GatewayException(ErrorCode code, String message) {
        this(code, message, null, true);
    }

    public GatewayException(ErrorCode code, String message, Throwable cause) {
        this(code, message, cause, true);
    }

    GatewayException(ErrorCode code, String message, Throwable cause, boolean forUser) {
        super(message, cause);
        this.code = code;
        this.forUser = forUser;
    }

    public ErrorCode code() {
        return code;
    }

    /** True when the message may be shown to the user; false when it is for the log only. */
    public boolean forUser() {
        return forUser;
    }

    /** What a reply may say: the message when it is for the user, the code's reason otherwise. */
    public String userMessage() {
        return forUser ? getMessage() : code.reason();
    }

    /** The code of any failure: a plain IOException is a backend failure. */
    public static ErrorCode codeOf(Throwable t) {
        GatewayException g = find(t);
        return g != null ? g.code() : ErrorCode.BACKEND_FAILED;
    }

    /**
     * What a reply may say about any failure, about the user path {@code path} (null when
     * there is none): the user message, or the fixed reason of its code, never the text of
     * another exception. The path is put in front when the message does not name it.
     */
    public static String describe(Throwable t, String path) {
        GatewayException g = find(t);
        String text = g != null ? g.userMessage() : ErrorCode.BACKEND_FAILED.reason();
        if (text == null || text.isEmpty()) {
            text = (g != null ? g.code() : ErrorCode.BACKEND_FAILED).reason();
        }
        return path == null || path.isEmpty() || text.contains(path) ? text : path + ": " + text;
    }

    /** True when the failure's details are for the log only: a reply shows a fixed reason. */
    public static boolean serverSide(Throwable t) {
        GatewayException g = find(t);
        return g == null || !g.forUser();
    }

    /** The GatewayException in {@code t}'s causes, else a backend failure with {@code t}'s text for the log. */
    public static GatewayException wrap(Throwable t) {
        GatewayException g = find(t);
        return g != null ? g : ErrorCode.BACKEND_FAILED.failure(t.toString(), t);
    }

    private static GatewayException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof GatewayException g) {
                return g;
            }
        }
        return null;
    }
}
