package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.transfergateway.protocols.auth.Accounts;

/**
 * What the handlers of one HTTP front end share: the accounts, the blocking-task pool
 * (storage calls may block and never run on an event loop), JSON, the metrics text and
 * the backends' report, the open event streams.
 */
record HttpServices(Accounts accounts, Authenticator authenticator, Executor blocking, ObjectMapper json,
        Responses responses, Supplier<String> prometheusText, Supplier<BackendsView> backends, EventStreams events) {

    static HttpServices of(Accounts accounts, Executor blocking, Supplier<String> prometheusText,
                           Supplier<BackendsView> backends) {
        ObjectMapper json = new ObjectMapper();
        return new HttpServices(accounts, new Authenticator(accounts), blocking, json, new Responses(json), prometheusText,
                backends, new EventStreams(accounts.meter(), json, java.time.Clock.systemUTC()));
    }
}
