package org.transfergateway.protocols.ftp;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import org.apache.ftpserver.ftplet.DefaultFtpReply;
import org.apache.ftpserver.ftplet.DefaultFtplet;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.ftplet.FtpSession;
import org.apache.ftpserver.ftplet.FtpletResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.auth.LoginGuard;
import org.transfergateway.protocols.auth.UserSessions;

/**
 * Checks MINA FtpServer does not make before a command runs: PORT and EPRT may only name
 * the client's own address and an unprivileged port, so the gateway is never used to
 * connect somewhere else (the FTP bounce attack); an address banned for failed logins
 * is turned away at connect; and a login that would pass limits.max-connections-per-user
 * is answered 421 and closed instead of 230.
 */
final class GatewayFtplet extends DefaultFtplet {
    private static final Logger log = LoggerFactory.getLogger(GatewayFtplet.class);

    private static final String COUNTED = "gateway.counted";
    /** The session's place in limits.max-connections-per-user, from its login to its end. */
    private static final String USER_SESSION = "gateway.userSession";

    private final LoginGuard guard;
    private final LimitsConfig limits;
    private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.Map<InetAddress, java.util.concurrent.atomic.AtomicInteger> perAddress =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final Accounts accounts;

    GatewayFtplet(LoginGuard guard, LimitsConfig limits, Accounts accounts) {
        this.guard = guard;
        this.limits = limits;
        this.accounts = accounts;
    }

    /**
     * A banned address is turned away before it can try again, and so is a connection over
     * the limits, in total or from one address.
     */
    @Override
    public FtpletResult onConnect(FtpSession session) throws FtpException, IOException {
        InetSocketAddress client = ProxyHeaderFilter.client(session);
        InetAddress address = client == null ? null : client.getAddress();
        int total = open.incrementAndGet();
        int fromAddress = address == null ? 0 : perAddress.computeIfAbsent(address, a -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
        session.setAttribute(COUNTED, Boolean.TRUE);
        if (total > limits.maxConnections() || fromAddress > limits.maxConnectionsPerAddress()) {
            session.write(new DefaultFtpReply(FtpReply.REPLY_421_SERVICE_NOT_AVAILABLE_CLOSING_CONTROL_CONNECTION,
                    total > limits.maxConnections() ? "Too many connections; try again later"
                            : "Too many connections from this address; try again later"));
            // A refused connection takes no place: the next one must not meet it while it closes.
            release(session);
            return FtpletResult.DISCONNECT;
        }
        java.time.Duration ban = guard.banRemaining(client == null ? null : client.getAddress());
        if (!ban.isZero()) {
            session.write(new DefaultFtpReply(FtpReply.REPLY_421_SERVICE_NOT_AVAILABLE_CLOSING_CONTROL_CONNECTION,
                    "Too many failed logins from this address; try again in " + (ban.toSeconds() + 1) + " s"));
            return FtpletResult.DISCONNECT;
        }
        return FtpletResult.DEFAULT;
    }

    /** Control connections open now. */
    int openConnections() {
        return open.get();
    }

    @Override
    public FtpletResult onDisconnect(FtpSession session) throws FtpException, IOException {
        release(session);
        closeUserSession(session);
        return FtpletResult.DEFAULT;
    }

    private static void closeUserSession(FtpSession session) {
        Object held = session.getAttribute(USER_SESSION);
        if (held instanceof UserSessions.Session s) {
            session.removeAttribute(USER_SESSION);
            s.close();
        }
    }

    /**
     * Takes the user's place before MINA answers PASS, once the credentials are known to be
     * right (so a wrong password is still the login guard's to count): a user at its limit
     * gets 421, not 230. Null to go on, else the result that ends the command.
     */
    private FtpletResult beforePass(FtpSession session, FtpRequest request) throws FtpException {
        UserSessions sessions = accounts.sessions();
        String name = session.getUserArgument();
        if (sessions.limit() <= 0 || name == null || session.getAttribute(USER_SESSION) != null) {
            return null;
        }
        if (accounts.authenticate(name, request.getArgument()).isEmpty()) {
            return null;
        }
        UserSessions.Session s = sessions.open(name, "ftp");
        if (s == null) {
            session.write(new DefaultFtpReply(FtpReply.REPLY_421_SERVICE_NOT_AVAILABLE_CLOSING_CONTROL_CONNECTION,
                    "Too many sessions of " + name + "; try again later"));
            return FtpletResult.DISCONNECT;
        }
        session.setAttribute(USER_SESSION, s);
        return null;
    }

    @Override
    public FtpletResult afterCommand(FtpSession session, FtpRequest request, FtpReply reply) throws FtpException, IOException {
        if (request.getCommand().equalsIgnoreCase("PASS") && !session.isLoggedIn()) {
            closeUserSession(session); // refused after all (a ban): no place held
        }
        return super.afterCommand(session, request, reply);
    }

    /** Gives back the session's place in the limits, once. */
    private void release(FtpSession session) {
        if (session.getAttribute(COUNTED) != null) {
            session.removeAttribute(COUNTED);
            open.decrementAndGet();
            InetSocketAddress client = ProxyHeaderFilter.client(session);
            if (client != null) {
                perAddress.computeIfPresent(client.getAddress(), (a, n) -> n.decrementAndGet() <= 0 ? null : n);
            }
        }
    }

    @Override
    public FtpletResult beforeCommand(FtpSession session, FtpRequest request) throws FtpException, IOException {
        String command = request.getCommand().toUpperCase(Locale.ROOT);
        if (command.equals("PASS")) {
            FtpletResult refused = beforePass(session, request);
            if (refused != null) {
                return refused;
            }
        }
        if (command.equals("PORT") || command.equals("EPRT")) {
            String refusal = checkActiveTarget(session, command, request.getArgument());
            if (refusal != null) {
                log.warn("{} from {} refused: {}", command, ProxyHeaderFilter.client(session), refusal);
                session.write(new DefaultFtpReply(FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, refusal));
                return FtpletResult.SKIP;
            }
        }
        return FtpletResult.DEFAULT;
    }

    /** Null when the target is the client itself on a port of 1024 or more, else why not. */
    static String checkActiveTarget(FtpSession session, String command, String argument) {
        InetSocketAddress target;
        try {
            target = command.equals("PORT") ? parsePort(argument) : parseEprt(argument);
        } catch (IllegalArgumentException | UnknownHostException e) {
            return command + " argument is malformed";
        }
        InetSocketAddress client = ProxyHeaderFilter.client(session);
        if (client == null || !sameHost(client.getAddress(), target.getAddress())) {
            return "Data connections go only to the address of the control connection";
        }
        if (target.getPort() < 1024) {
            return "Data connections to ports below 1024 are refused";
        }
        return null;
    }

    private static boolean sameHost(InetAddress a, InetAddress b) {
        if (a.equals(b)) {
            return true;
        }
        // An IPv4 client seen on an IPv6 socket as ::ffff:a.b.c.d.
        byte[] x = a.getAddress();
        byte[] y = b.getAddress();
        return x.length != y.length && java.util.Arrays.equals(tail4(x), tail4(y));
    }

    private static byte[] tail4(byte[] addr) {
        return java.util.Arrays.copyOfRange(addr, addr.length - 4, addr.length);
    }

    /** h1,h2,h3,h4,p1,p2 */
    static InetSocketAddress parsePort(String arg) throws UnknownHostException {
        if (arg == null) {
            throw new IllegalArgumentException("no argument");
        }
        String[] p = arg.trim().split(",");
        if (p.length != 6) {
            throw new IllegalArgumentException("six numbers expected");
        }
        byte[] addr = new byte[4];
        for (int i = 0; i < 4; i++) {
            addr[i] = (byte) octet(p[i]);
        }
        int port = octet(p[4]) * 256 + octet(p[5]);
        return new InetSocketAddress(InetAddress.getByAddress(addr), port);
    }

    /** |proto|address|port| with any delimiter, RFC 2428. */
    static InetSocketAddress parseEprt(String arg) throws UnknownHostException {
        if (arg == null || arg.length() < 7) {
            throw new IllegalArgumentException("no argument");
        }
        String d = Character.toString(arg.charAt(0));
        String[] p = arg.substring(1).split(java.util.regex.Pattern.quote(d), -1);
        if (p.length != 4 || !p[3].isEmpty()) {
            throw new IllegalArgumentException("|proto|address|port| expected");
        }
        String host = p[1];
        // Literal addresses only: a name would start a DNS lookup.
        if (!(p[0].equals("1") && host.matches("[0-9.]+") || p[0].equals("2") && host.matches("[0-9A-Fa-f:.]+"))) {
            throw new IllegalArgumentException("bad address");
        }
        int port = Integer.parseInt(p[2]);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("bad port");
        }
        return new InetSocketAddress(InetAddress.getByName(host), port);
    }

    private static int octet(String s) {
        int v = Integer.parseInt(s.trim());
        if (v < 0 || v > 255) {
            throw new IllegalArgumentException("not 0-255");
        }
        return v;
    }
}
