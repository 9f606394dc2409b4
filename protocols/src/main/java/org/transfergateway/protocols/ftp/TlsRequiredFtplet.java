package org.transfergateway.protocols.ftp;

import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import org.apache.ftpserver.ftplet.DefaultFtpReply;
import org.apache.ftpserver.ftplet.DefaultFtplet;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.ftplet.FtpSession;
import org.apache.ftpserver.ftplet.FtpletResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ftp.require-tls}: no password crosses the network in the clear and no file
 * content either. USER and PASS are refused (530) until {@code AUTH TLS} has protected the
 * control connection, and every command that moves data over a data connection is refused
 * (521, RFC 4217) until {@code PROT P} has asked for protected data connections.
 */
final class TlsRequiredFtplet extends DefaultFtplet {
    private static final Logger log = LoggerFactory.getLogger(TlsRequiredFtplet.class);
    private static final Set<String> LOGIN = Set.of("USER", "PASS", "ACCT");
    private static final Set<String> DATA = Set.of("STOR", "STOU", "APPE", "RETR", "LIST", "NLST", "MLSD");

    @Override
    public FtpletResult beforeCommand(FtpSession session, FtpRequest request) throws FtpException, IOException {
        String command = request.getCommand().toUpperCase(Locale.ROOT);
        if (LOGIN.contains(command) && !session.isSecure()) {
            log.info("{} from {} refused: the control connection is not protected", command, ProxyHeaderFilter.client(session));
            session.write(new DefaultFtpReply(530, "Log in over TLS: send AUTH TLS first"));
            return FtpletResult.SKIP;
        }
        if (DATA.contains(command) && !session.getDataConnection().isSecure()) {
            // The data connection a PASV may have opened is not used: close it now.
            session.getDataConnection().closeDataConnection();
            session.write(new DefaultFtpReply(521, "Data connections must be protected: send PROT P first"));
            return FtpletResult.SKIP;
        }
        return FtpletResult.DEFAULT;
    }
}
