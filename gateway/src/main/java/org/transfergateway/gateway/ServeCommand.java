package org.transfergateway.gateway;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** {@code serve}: runs the gateway until SIGTERM or Ctrl-C, then stops cleanly with status 0. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Starts the gateway (on embedded defaults without --config).")
final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "the YAML configuration")
    Path config;

    @Override
    public Integer call() throws Exception {
        GatewayConfig cfg;
        if (config == null) {
            cfg = ConfigLoader.defaults(Path.of("data"));
            log.warn("no --config given: running on embedded defaults with user demo/demo on loopback only, files under {}",
                    Path.of("data", "files").toAbsolutePath());
        } else {
            cfg = new ConfigLoader().load(config);
        }
        CountDownLatch stop = new CountDownLatch(1);
        // Our own handlers, so that a SIGTERM is an orderly stop with status 0, not 143.
        // Installed before start, so that a SIGTERM soon after the listeners bind (while
        // start ends) is an orderly stop too, and again after: a library loaded on the
        // way may have installed its own.
        handleSignals(stop);
        Gateway gateway = Gateway.start(cfg);
        handleSignals(stop);
        try {
            stop.await();
            log.info("stopping: no new connections; running transfers have {} s to finish", cfg.shutdownGrace().toSeconds());
            gateway.shutdown(cfg.shutdownGrace());
        } finally {
            gateway.close();
        }
        log.info("stopped");
        return 0;
    }

    private static void handleSignals(CountDownLatch stop) {
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
    }
}
