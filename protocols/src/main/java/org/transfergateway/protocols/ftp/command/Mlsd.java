package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.command.Command;
import org.apache.ftpserver.command.impl.MLSD;
import org.apache.ftpserver.command.impl.listing.ListArgumentParser;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.transfergateway.storage.ObjectInfo;

/**
 * MLSD that answers 550 at once for a folder that does not exist, as LIST does. MINA's
 * own MLSD answers 150, then 550 on the data connection: clients such as rclone read that
 * as a failed listing rather than a missing folder, and then cannot create it. The listing
 * itself is MINA's.
 */
final class Mlsd extends AbstractCommand {
    private final Command listing = new MLSD();

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException, FtpException {
        if (answeredAtOnce(session, request)) {
            session.resetState();
            session.getDataConnection().closeDataConnection();
            return;
        }
        listing.execute(session, context, request);
    }

    /** True when the folder is missing or a file, with the answer given. */
    private static boolean answeredAtOnce(FtpIoSession session, FtpRequest request) throws IOException {
        String folder;
        try {
            folder = ListArgumentParser.parse(request.getArgument()).getFile();
        } catch (IllegalArgumentException e) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "MLSD: " + e.getMessage());
            return true;
        }
        ObjectInfo info;
        String path;
        try {
            SessionFiles files = FtpCommands.sessionFiles(session);
            path = files.resolve(folder);
            info = files.files().stat(path);
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "MLSD", folder, e);
            return true;
        }
        if (info == null) {
            FtpCommands.reply(session, FtpReply.REPLY_550_REQUESTED_ACTION_NOT_TAKEN, "MLSD: no such folder: " + path);
            return true;
        }
        if (!info.folder()) {
            // RFC 3659, 7.2: MLSD lists folders only; MLST describes a file.
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "MLSD: " + path + " is a file, not a folder");
            return true;
        }
        return false;
    }
}
