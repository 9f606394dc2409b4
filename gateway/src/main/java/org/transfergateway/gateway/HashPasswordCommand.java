package org.transfergateway.gateway;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import org.transfergateway.protocols.auth.Passwords;
import picocli.CommandLine.Command;

/** {@code hash-password}: reads a password from standard input, prints a {@code password-hash}. */
@Command(name = "hash-password", mixinStandardHelpOptions = true,
        description = "Reads a password from standard input and prints a hash for password-hash.")
final class HashPasswordCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        String password;
        if (System.console() != null) {
            char[] typed = System.console().readPassword("password: ");
            password = typed == null ? null : new String(typed);
        } else {
            password = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
        if (password == null || password.isEmpty()) {
            throw new Main.CommandFailure(Main.USAGE, "no password on standard input");
        }
        System.out.println(Passwords.hash(password));
        return 0;
    }
}
