package org.transfergateway.protocols.http;

import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.UserFiles;

/** The authenticated user of a request and its files, counted as HTTP transfers. */
record Caller(UserConfig user, UserFiles files) {

    String name() {
        return user.name();
    }
}
