package org.transfergateway.storage.gcs;

import com.google.cloud.BaseServiceException;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * How Google Cloud client failures read and which {@link GatewayException} they become:
 * an answer of 401 or 403 is {@link ErrorCode#FORBIDDEN}, any other error answer
 * {@link ErrorCode#BACKEND_FAILED}, and no answer at all (refused, reset, timed out)
 * {@link ErrorCode#BACKEND_UNAVAILABLE}.
 */
final class GcsErrors {
    private GcsErrors() {
    }

    /** The HTTP status of an error answer, or 0 when there was none. */
    static int status(RuntimeException e) {
        return e instanceof BaseServiceException b ? b.getCode() : 0;
    }

    static boolean isStatus(RuntimeException e, int status) {
        return status(e) == status;
    }

    /**
     * Whether a failure without a storage answer is the OAuth token endpoint's refusal of the credentials (a
     * revoked or unknown key): an error answer below a request that storage never answered.
     */
    static boolean isTokenRefused(Throwable e) {
        for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof com.google.api.client.http.HttpResponseException h && h.getStatusCode() >= 400
                    && h.getStatusCode() < 500) {
                return true;
            }
        }
        return false;
    }

    /** Why a request failed, in one line. */
    static String reason(Throwable e) {
        if (e instanceof BaseServiceException b && b.getCode() > 0) {
            String what = switch (b.getCode()) {
                case 401 -> "not authenticated";
                case 403 -> "access denied";
                case 404 -> "not found";
                default -> "HTTP " + b.getCode();
            };
            return oneLine(what + (b.getReason() != null ? " (" + b.getReason() + ")" : ""));
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return oneLine(root.getClass().getSimpleName() + ": " + message);
    }

    static String oneLine(String s) {
        String line = s.replaceAll("\\s+", " ").trim();
        return line.length() > 300 ? line.substring(0, 300) + "…" : line;
    }

    /** The gateway error for a failed request of the backend {@code name}; {@code what} says what was attempted. */
    static GatewayException failure(String name, String what, Throwable e) {
        String message = name + ": " + what + " failed: ";
        int status = e instanceof BaseServiceException b ? b.getCode() : 0;
        if (status <= 0) {
            return ErrorCode.BACKEND_UNAVAILABLE.failure(message + "the backend did not answer: " + reason(e), e);
        }
        if (status == 401 || status == 403) {
            return ErrorCode.FORBIDDEN.failure(message + reason(e), e);
        }
        return ErrorCode.BACKEND_FAILED.failure(message + reason(e), e);
    }

    /** The same for an answer of the resumable protocol, which this backend sends itself. */
    static GatewayException answered(String name, String what, int status, String body) {
        String message = name + ": " + what + " failed: HTTP " + status + (body == null || body.isBlank() ? "" : " " + oneLine(body));
        return status == 401 || status == 403 ? ErrorCode.FORBIDDEN.failure(message) : ErrorCode.BACKEND_FAILED.failure(message);
    }
}
