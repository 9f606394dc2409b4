package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.transfergateway.protocols.auth.Accounts;

/**
 * What the handlers of one HTTP front end share: the accounts, the dashboard's sessions,
 * the blocking-task pool (storage calls may block and never run on an event loop), JSON,
 * the metrics text, the backends' report, the open event streams and the dashboard's files.
 */
record HttpServices(Accounts accounts, Sessions sessions, Authenticator authenticator, Executor blocking,
        ObjectMapper json, Responses responses, Supplier<String> prometheusText, Supplier<BackendsView> backends,
        EventStreams events, StaticFiles files) {

    static HttpServices of(Accounts accounts, Executor blocking, Supplier<String> prometheusText,
                           Supplier<BackendsView> backends) {
        ObjectMapper json = new ObjectMapper();
        Sessions sessions = new Sessions(Clock.systemUTC());
        return new HttpServices(accounts, sessions, new Authenticator(accounts, sessions), blocking, json,
                new Responses(json), prometheusText, backends, new EventStreams(accounts.meter(), json, Clock.systemUTC()),
                new StaticFiles());
    }
}
