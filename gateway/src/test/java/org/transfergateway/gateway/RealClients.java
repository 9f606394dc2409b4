package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real client programs the end-to-end tests drive (curl, lftp, python3). A test is skipped
 * where its client is not installed, unless GATEWAY_TEST_REQUIRE_CLIENTS=1 (as in CI) makes
 * that a failure.
 */
final class RealClients {
    private RealClients() {
    }

    /** Skips or fails the calling test unless {@code tool versionFlag} runs and exits 0. */
    static void require(String tool, String versionFlag) {
        boolean installed;
        try {
            Process p = new ProcessBuilder(tool, versionFlag).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            installed = p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            installed = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            installed = false;
        }
        if (!installed && "1".equals(System.getenv("GATEWAY_TEST_REQUIRE_CLIENTS"))) {
            fail(tool + " is not installed, and GATEWAY_TEST_REQUIRE_CLIENTS=1 requires it");
        }
        Assumptions.assumeTrue(installed, tool + " is not installed");
    }
}
