package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.apache.sshd.sftp.common.SftpHelper;
import org.apache.sshd.sftp.server.SftpErrorStatusDataHandler;
import org.apache.sshd.sftp.server.SftpSubsystemEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * The SFTP status a failure is answered with, and its message: the gateway's error codes
 * as SFTP knows them (not found, permission denied, else failure), and the user's message,
 * never the text of an exception meant for the log. Version 3, what OpenSSH speaks, has no
 * code for a full quota: it is a failure whose message says so.
 */
final class SftpErrors implements SftpErrorStatusDataHandler {
    private static final Logger log = LoggerFactory.getLogger(SftpErrors.class);

    @Override
    public int resolveSubStatus(SftpSubsystemEnvironment env, int id, Throwable e, int cmd, Object... args) {
        GatewayException g = gateway(e);
        int version = env.getVersion();
        if (g != null) {
            return switch (g.code()) {
                case NOT_FOUND -> SftpConstants.SSH_FX_NO_SUCH_FILE;
                case FORBIDDEN, UNAUTHORIZED, LOGIN_FAILED, BANNED -> SftpConstants.SSH_FX_PERMISSION_DENIED;
                case TOO_LARGE -> version >= SftpConstants.SFTP_V5 ? SftpConstants.SSH_FX_QUOTA_EXCEEDED : SftpConstants.SSH_FX_FAILURE;
                default -> SftpConstants.SSH_FX_FAILURE;
            };
        }
        int status = SftpHelper.resolveSubstatus(e);
        // Codes above OP_UNSUPPORTED came with version 4 and later; a v3 client knows none of them.
        return version <= SftpConstants.SFTP_V3 && status > SftpConstants.SSH_FX_OP_UNSUPPORTED ? SftpConstants.SSH_FX_FAILURE : status;
    }

    @Override
    public String resolveErrorMessage(SftpSubsystemEnvironment env, int id, Throwable e, int subStatus, int cmd, Object... args) {
        if (gateway(e) != null) {
            if (GatewayException.serverSide(e)) {
                log.warn("sftp: {}", e.getMessage(), e.getCause());
            }
            return GatewayException.describe(e, null);
        }
        if (e instanceof java.io.EOFException) {
            return "end of file"; // what every download ends with
        }
        if (e instanceof NoSuchFileException f) {
            return "no such file or folder: " + f.getFile();
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + " already exists";
        }
        if (e instanceof DirectoryNotEmptyException f) {
            return "the folder is not empty: " + f.getFile();
        }
        if (e instanceof NotDirectoryException f) {
            return f.getFile() + " is not a folder";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getFile() == null ? f.getReason() : f.getFile() + ": " + f.getReason();
        }
        if ((e instanceof SftpException || e instanceof UnsupportedOperationException) && e.getMessage() != null) {
            return e.getMessage();
        }
        if (e instanceof IOException) {
            // A plain IOException comes from a backend: its text is for the log.
            log.warn("sftp: {}", e.toString(), e);
            return ErrorCode.BACKEND_FAILED.reason();
        }
        log.debug("sftp: request {} failed", cmd, e);
        return SftpHelper.resolveStatusMessage(subStatus);
    }

    private static GatewayException gateway(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof GatewayException g) {
                return g;
            }
        }
        return null;
    }
}
