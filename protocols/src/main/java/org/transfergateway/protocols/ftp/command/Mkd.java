package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/** MKD: makes a folder and answers 257 with its path, quoted as RFC 959 says. */
final class Mkd extends AbstractCommand {
    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        session.resetState();
        if (!request.hasArgument()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "MKD needs a folder name");
            return;
        }
        SessionFiles sf = FtpCommands.sessionFiles(session);
        try {
            String path = sf.resolve(request.getArgument());
            sf.files().makeFolder(path);
            FtpCommands.reply(session, FtpReply.REPLY_257_PATHNAME_CREATED, "\"" + path.replace("\"", "\"\"") + "\" created");
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "MKD", e);
        }
    }
}
