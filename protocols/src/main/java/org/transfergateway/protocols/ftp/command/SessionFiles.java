package org.transfergateway.protocols.ftp.command;

import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.UserFiles;

/** What a command needs of a logged-in session: its files and its working folder. */
public interface SessionFiles {
    UserFiles files();

    /** The normalised user path of {@code name} relative to the working folder. */
    String resolve(String name) throws GatewayException;
}
