package org.transfergateway.storage.s3;

import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * How SDK failures read and which {@link GatewayException} they become: no response at
 * all is {@link ErrorCode#BACKEND_UNAVAILABLE}, 403 is {@link ErrorCode#FORBIDDEN}, any
 * other error answer (5xx, or a 200 whose body is an error, which the SDK reports as an
 * error too) is {@link ErrorCode#BACKEND_FAILED}.
 */
final class S3Errors {
    private S3Errors() {
    }

    static boolean isStatus(SdkException e, int status) {
        return e instanceof S3Exception s && s.statusCode() == status;
    }

    /** Why a request failed, in one line. */
    static String reason(SdkException e) {
        if (e instanceof S3Exception s) {
            String code = s.awsErrorDetails() != null ? s.awsErrorDetails().errorCode() : null;
            String what = switch (s.statusCode()) {
                case 403 -> "access denied";
                case 404 -> "not found";
                case 301 -> "it lies in another region";
                default -> "HTTP " + s.statusCode();
            };
            return oneLine(what + (code != null ? " (" + code + ")" : ""));
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return oneLine(root == e ? message : message + " (" + e.getMessage() + ")");
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    /**
     * The gateway error for a failed request of the backend {@code name}; {@code what}
     * says what was attempted.
     */
    static GatewayException failure(String name, String what, SdkException e) {
        String message = name + ": " + what + " failed: ";
        if (e instanceof SdkClientException) {
            return ErrorCode.BACKEND_UNAVAILABLE.failure(message + "the backend did not answer: " + reason(e), e);
        }
        if (isStatus(e, 403)) {
            return ErrorCode.FORBIDDEN.failure(message + reason(e), e);
        }
        return ErrorCode.BACKEND_FAILED.failure(message + reason(e), e);
    }
}
