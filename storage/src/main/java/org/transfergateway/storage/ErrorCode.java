package org.transfergateway.storage;

/**
 * Every error a user can meet, with the HTTP status and the FTP reply code that each
 * front end renders it as, and a fixed reason that a reply may always show. One list, so
 * that FTP and HTTP refuse the same things alike.
 */
public enum ErrorCode {
    BAD_PATH(400, 553, "bad_path", "bad path"),
    BAD_REQUEST(400, 501, "bad_request", "bad request"),
    /** The body does not have the digest that the request announced (Content-MD5, Repr-Digest). */
    DIGEST_MISMATCH(400, 550, "digest_mismatch", "the content does not match its digest"),
    UNAUTHORIZED(401, 530, "unauthorized", "credentials are required"),
    /** Credentials were given and are wrong; its answer is delayed. */
    LOGIN_FAILED(401, 530, "unauthorized", "unknown user or wrong password"),
    /** Too many failed logins from the client's address. */
    BANNED(429, 421, "banned", "too many failed logins"),
    /** The user has limits.max-connections-per-user sessions open already, on any node. */
    TOO_MANY_SESSIONS(429, 421, "too_many_sessions", "too many sessions of this user"),
    FORBIDDEN(403, 550, "forbidden", "permission denied"),
    NOT_FOUND(404, 550, "not_found", "no such file or folder"),
    CONFLICT(409, 550, "conflict", "conflicts with an existing file or folder"),
    NOT_EMPTY(409, 550, "not_empty", "the folder is not empty"),
    TOO_LARGE(413, 552, "too_large", "too large"),
    CLIENT_ABORTED(400, 426, "client_aborted", "the transfer was cut off"),
    /** The backend has no room left (a full disk), as opposed to a user's quota (TOO_LARGE). */
    INSUFFICIENT_STORAGE(507, 452, "insufficient_storage", "not enough storage space on the server"),
    BACKEND_FAILED(502, 451, "backend_failed", "the storage failed"),
    BACKEND_UNAVAILABLE(503, 451, "backend_unavailable", "the storage is unavailable; try again later"),
    INTERNAL(500, 451, "internal", "internal error");

    private final int httpStatus;
    private final int ftpReply;
    private final String id;
    private final String reason;

    ErrorCode(int httpStatus, int ftpReply, String id, String reason) {
        this.httpStatus = httpStatus;
        this.ftpReply = ftpReply;
        this.id = id;
        this.reason = reason;
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

    /** A fixed text for replies to failures whose message is for the log only. */
    public String reason() {
        return reason;
    }

    /** A failure whose message is for the user: what and why, naming only the user's own paths. */
    public GatewayException exception(String message) {
        return new GatewayException(this, message);
    }

    /** Like {@link #exception(String)}, with the cause for the log. */
    public GatewayException exception(String message, Throwable cause) {
        return new GatewayException(this, message, cause);
    }

    /**
     * A failure whose message is for the log only: it may name backends, buckets, keys,
     * server paths or exception classes. Replies show {@link #reason()} instead.
     */
    public GatewayException failure(String detail) {
        return new GatewayException(this, detail, null, false);
    }

    /** Like {@link #failure(String)}, with the cause for the log. */
    public GatewayException failure(String detail, Throwable cause) {
        return new GatewayException(this, detail, cause, false);
    }
}
