package org.transfergateway.protocols.http;

import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.UserFiles;

/**
 * The authenticated user of a request and its files, counted as HTTP transfers (as
 * WebDAV ones under {@code /dav});
 * {@code session} is the dashboard session it came with, null for Basic credentials.
 */
record Caller(UserConfig user, UserFiles files, Sessions.Session session) {

    String name() {
        return user.name();
    }
}
