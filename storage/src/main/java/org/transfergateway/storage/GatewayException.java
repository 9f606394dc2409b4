package org.transfergateway.storage;

import java.io.IOException;

/**
 * A failure with a known {@link ErrorCode}: its message says what and why, for the user.
 * An {@link IOException} because it travels through stream and MINA FtpServer APIs.
 */
public final class GatewayException extends IOException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public GatewayException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public GatewayException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    /** The code of any failure: a plain IOException is a backend failure. */
    public static ErrorCode codeOf(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof GatewayException g) {
                return g.code();
            }
        }
        return ErrorCode.BACKEND_FAILED;
    }
}
