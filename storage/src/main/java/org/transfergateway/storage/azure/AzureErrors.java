package org.transfergateway.storage.azure;

import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.exception.HttpResponseException;
import com.azure.core.http.HttpHeaderName;
import com.azure.storage.blob.models.BlobStorageException;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * How Azure SDK failures read and which {@link GatewayException} they become: an error
 * answer of 403 is {@link ErrorCode#FORBIDDEN}, any other error answer
 * {@link ErrorCode#BACKEND_FAILED}, and no answer at all (refused, reset, timed out)
 * {@link ErrorCode#BACKEND_UNAVAILABLE}.
 */
final class AzureErrors {
    private AzureErrors() {
    }

    static boolean isStatus(RuntimeException e, int status) {
        return e instanceof HttpResponseException h && h.getResponse() != null && h.getResponse().getStatusCode() == status;
    }

    /** True when no token could be had: a credential of the chain failed or none was found. */
    static boolean isAuthentication(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClientAuthenticationException) {
                return true;
            }
        }
        return false;
    }

    /** Why a request failed, in one line. */
    static String reason(RuntimeException e) {
        if (e instanceof HttpResponseException h && h.getResponse() != null) {
            int status = h.getResponse().getStatusCode();
            String code = e instanceof BlobStorageException b && b.getErrorCode() != null ? b.getErrorCode().toString()
                    : h.getResponse().getHeaders().getValue(HttpHeaderName.fromString("x-ms-error-code"));
            String what = switch (status) {
                case 403 -> "access denied";
                case 404 -> "not found";
                default -> "HTTP " + status;
            };
            return oneLine(what + (code != null ? " (" + code + ")" : ""));
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return oneLine(root.getClass().getSimpleName() + ": " + message);
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    /** The gateway error for a failed request of the backend {@code name}; {@code what} says what was attempted. */
    static GatewayException failure(String name, String what, RuntimeException e) {
        String message = name + ": " + what + " failed: ";
        if (!(e instanceof HttpResponseException h) || h.getResponse() == null) {
            return ErrorCode.BACKEND_UNAVAILABLE.failure(message + "the backend did not answer: " + reason(e), e);
        }
        if (isStatus(e, 403)) {
            return ErrorCode.FORBIDDEN.failure(message + reason(e), e);
        }
        return ErrorCode.BACKEND_FAILED.failure(message + reason(e), e);
    }
}
