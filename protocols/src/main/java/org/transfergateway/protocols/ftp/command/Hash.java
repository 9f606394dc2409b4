package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.command.impl.OPTS;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.transfergateway.storage.DigestAlgorithm;

/**
 * File digests over FTP. {@code HASH path} (draft-bryan-ftpext-hash-02, as FileZilla and
 * lftp use it) answers {@code 213 <algorithm> 0-<size> <hex> <path>} with the session's
 * algorithm, which {@code OPTS HASH [name]} shows or selects (SHA-256 by default, SHA-1,
 * MD5, CRC32; 504 for another) and FEAT lists with the selected one starred. The older
 * {@code XSHA256}, {@code XSHA1}, {@code XMD5} and {@code XCRC} answer {@code 250 <hex>}.
 *
 * <p>SHA-256 comes from the ledger when it recorded one at the upload; every other digest
 * is computed by reading the file, which is no download in the statistics. 550 for a
 * missing file or a folder.
 */
final class Hash {
    /** What HASH and FEAT offer, in FEAT's order. */
    static final DigestAlgorithm[] OFFERED = {DigestAlgorithm.SHA_256, DigestAlgorithm.SHA_1, DigestAlgorithm.MD5,
        DigestAlgorithm.CRC32};
    private static final String SELECTED = "org.transfergateway.ftp.hash";

    private Hash() {
    }

    /** The algorithm HASH uses in this session. */
    static DigestAlgorithm selected(FtpIoSession session) {
        return session.getAttribute(SELECTED) instanceof DigestAlgorithm a ? a : DigestAlgorithm.SHA_256;
    }

    /** FEAT's line: {@code HASH SHA-256*;SHA-1;MD5;CRC32}, the session's algorithm starred. */
    static String featLine(FtpIoSession session) {
        DigestAlgorithm current = selected(session);
        return "HASH " + Arrays.stream(OFFERED).map(a -> a.label() + (a == current ? "*" : ""))
                .collect(Collectors.joining(";"));
    }

    private static DigestAlgorithm offered(String name) {
        DigestAlgorithm a = DigestAlgorithm.byLabel(name.trim());
        return a != null && Arrays.asList(OFFERED).contains(a) ? a : null;
    }

    /** {@code HASH path}. */
    static AbstractCommand hash() {
        return new AbstractCommand() {
            @Override
            public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
                session.resetState();
                if (!request.hasArgument()) {
                    FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "HASH needs a file name");
                    return;
                }
                String name = request.getArgument();
                DigestAlgorithm algorithm = selected(session);
                SessionFiles sf = FtpCommands.sessionFiles(session);
                try {
                    String path = sf.resolve(name);
                    byte[] digest = sf.files().digest(path, algorithm);
                    long size = sf.files().stat(path).size();
                    // The range is inclusive: an empty file's is 0-0, as FileZilla's server answers too.
                    FtpCommands.reply(session, FtpReply.REPLY_213_FILE_STATUS, algorithm.label() + " 0-"
                            + Math.max(0, size - 1) + " " + DigestAlgorithm.hex(digest) + " " + name);
                } catch (IOException | RuntimeException e) {
                    FtpCommands.replyError(session, "HASH", name, e);
                }
            }
        };
    }

    /**
     * {@code XSHA256 path} and its likes: {@code 250 <hex>}. MINA hands them over without
     * their X (as SHA256, MD5...); a request line without the X is another command (MD5 of
     * draft-twine-ftpmd5, which MINA answers) or none (502).
     */
    static AbstractCommand legacy(String command, DigestAlgorithm algorithm) {
        org.apache.ftpserver.command.Command withoutX = algorithm == DigestAlgorithm.MD5
                ? new org.apache.ftpserver.command.impl.MD5() : null;
        return new AbstractCommand() {
            @Override
            public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request)
                    throws IOException, org.apache.ftpserver.ftplet.FtpException {
                String line = request.getRequestLine();
                if (line == null || !line.regionMatches(true, 0, command, 0, command.length())) {
                    if (withoutX != null) {
                        withoutX.execute(session, context, request);
                    } else {
                        session.resetState();
                        FtpCommands.reply(session, FtpReply.REPLY_502_COMMAND_NOT_IMPLEMENTED,
                                "Command " + request.getCommand() + " not implemented");
                    }
                    return;
                }
                session.resetState();
                if (!request.hasArgument()) {
                    FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS,
                            command + " needs a file name");
                    return;
                }
                String name = request.getArgument();
                SessionFiles sf = FtpCommands.sessionFiles(session);
                try {
                    byte[] digest = sf.files().digest(sf.resolve(name), algorithm);
                    FtpCommands.reply(session, FtpReply.REPLY_250_REQUESTED_FILE_ACTION_OKAY, DigestAlgorithm.hex(digest));
                } catch (IOException | RuntimeException e) {
                    FtpCommands.replyError(session, command, name, e);
                }
            }
        };
    }

    /** OPTS: {@code OPTS HASH [name]} here, the other options (UTF8, MLST) as MINA answers them. */
    static AbstractCommand opts() {
        OPTS mina = new OPTS();
        return new AbstractCommand() {
            @Override
            public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request)
                    throws IOException, org.apache.ftpserver.ftplet.FtpException {
                String arg = request.hasArgument() ? request.getArgument().trim() : "";
                String[] words = arg.split("\\s+", 2);
                if (!words[0].toUpperCase(Locale.ROOT).equals("HASH")) {
                    mina.execute(session, context, request);
                    return;
                }
                session.resetState();
                if (words.length == 1) {
                    FtpCommands.reply(session, FtpReply.REPLY_200_COMMAND_OKAY, selected(session).label());
                    return;
                }
                DigestAlgorithm a = offered(words[1]);
                if (a == null) {
                    FtpCommands.reply(session, FtpReply.REPLY_504_COMMAND_NOT_IMPLEMENTED_FOR_THAT_PARAMETER,
                            "Unknown algorithm " + words[1] + ", current selection not changed");
                    return;
                }
                session.setAttribute(SELECTED, a);
                FtpCommands.reply(session, FtpReply.REPLY_200_COMMAND_OKAY, a.label());
            }
        };
    }
}
