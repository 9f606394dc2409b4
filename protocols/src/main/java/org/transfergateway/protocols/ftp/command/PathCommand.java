package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.transfergateway.storage.UserFiles;

/**
 * A command that does one thing to one path and answers with one line: DELE, MKD, RMD.
 * Failures are answered with the reply code of their cause.
 */
final class PathCommand extends AbstractCommand {

    /** The work on a resolved path; returns the success reply's text. */
    interface Action {
        String apply(UserFiles files, String path) throws IOException;
    }

    private final String name;
    private final String what;
    private final int okCode;
    private final Action action;

    private PathCommand(String name, String what, int okCode, Action action) {
        this.name = name;
        this.what = what;
        this.okCode = okCode;
        this.action = action;
    }

    /** DELE: removes a file; the stored totals shrink by its size. */
    static PathCommand dele() {
        return new PathCommand("DELE", "a file name", FtpReply.REPLY_250_REQUESTED_FILE_ACTION_OKAY, (files, path) -> {
            files.delete(path);
            return "Deleted " + path;
        });
    }

    /** MKD: makes a folder and answers 257 with its path, quoted as RFC 959 says. */
    static PathCommand mkd() {
        return new PathCommand("MKD", "a folder name", FtpReply.REPLY_257_PATHNAME_CREATED, (files, path) -> {
            files.makeFolder(path);
            return "\"" + path.replace("\"", "\"\"") + "\" created";
        });
    }

    /** RMD: removes an empty folder. */
    static PathCommand rmd() {
        return new PathCommand("RMD", "a folder name", FtpReply.REPLY_250_REQUESTED_FILE_ACTION_OKAY, (files, path) -> {
            files.removeFolder(path);
            return "Removed " + path;
        });
    }

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        session.resetState();
        if (!request.hasArgument()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, name + " needs " + what);
            return;
        }
        SessionFiles sf = FtpCommands.sessionFiles(session);
        String path = request.getArgument();
        try {
            path = sf.resolve(request.getArgument());
            FtpCommands.reply(session, okCode, action.apply(sf.files(), path));
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, name, path, e);
        }
    }
}
