package org.transfergateway.storage;

/**
 * Every error a user can meet, with the HTTP status and the FTP reply code that each
 * front end renders it as. One list, so that FTP and HTTP refuse the same things alike.
 */
public enum ErrorCode {
    BAD_PATH(400, 553, "bad_path"),
    BAD_REQUEST(400, 501, "bad_request"),
    UNAUTHORIZED(401, 530, "unauthorized"),
    /** Credentials were given and are wrong; its answer is delayed. */
    LOGIN_FAILED(401, 530, "unauthorized"),
    /** Too many failed logins from the client's address. */
    BANNED(429, 421, "banned"),
    FORBIDDEN(403, 550, "forbidden"),
    NOT_FOUND(404, 550, "not_found"),
    CONFLICT(409, 550, "conflict"),
    NOT_EMPTY(409, 550, "not_empty"),
    TOO_LARGE(413, 552, "too_large"),
    CLIENT_ABORTED(400, 426, "client_aborted"),
    BACKEND_FAILED(502, 451, "backend_failed"),
    BACKEND_UNAVAILABLE(503, 451, "backend_unavailable"),
    INTERNAL(500, 451, "internal");

    private final int httpStatus;
    private final int ftpReply;
    private final String id;

    ErrorCode(int httpStatus, int ftpReply, String id) {
        this.httpStatus = httpStatus;
        this.ftpReply = ftpReply;
        this.id = id;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int ftpReply() {
        return ftpReply;
    }

    /** The {@code "error"} value of the HTTP JSON error body. */
    public String id() {
        return id;
    }

    public GatewayException exception(String message) {
        return new GatewayException(this, message);
    }

    public GatewayException exception(String message, Throwable cause) {
        return new GatewayException(this, message, cause);
    }
}
