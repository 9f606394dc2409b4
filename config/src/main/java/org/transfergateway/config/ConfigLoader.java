package org.transfergateway.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Builds a {@link GatewayConfig} from the YAML of the SPEC (section 2) or from the embedded
 * defaults (section 1). Every mistake becomes a {@link ConfigException} naming the key.
 */
public final class ConfigLoader {
    public static final long DEFAULT_MEMORY_BUDGET = Units.parseSize("256MiB");
    public static final long DEFAULT_PART_SIZE = Units.parseSize("8MiB");
    /** S3's smallest part but the last. */
    public static final long MIN_PART_SIZE = Units.parseSize("5MiB");
    public static final int DEFAULT_PART_CONCURRENCY = 4;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** Host names included: the default node id is one. */
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final PortRange DEFAULT_PASSIVE_PORTS = new PortRange(50000, 50100);

    private final Map<String, String> env;

    public ConfigLoader(Map<String, String> env) {
        this.env = Map.copyOf(env);
    }

    public ConfigLoader() {
        this(System.getenv());
    }

    /**
     * The embedded defaults: local disk under {@code <dataDir>/files}, FTP on 127.0.0.1:2121,
     * HTTP on 127.0.0.1:8080, SFTP on 127.0.0.1:2222 and the demo user {@code demo}/{@code demo}.
     */
    public static GatewayConfig defaults(Path dataDir) {
        return new GatewayConfig(
                new FtpConfig(true, "127.0.0.1", 2121, DEFAULT_PASSIVE_PORTS, "127.0.0.1", Duration.ofMinutes(5)),
                new HttpConfig(true, "127.0.0.1", 8080, 16 * 1024, Duration.ofMinutes(5)),
                new SftpConfig(true, "127.0.0.1", 2222, dataDir.resolve(SftpConfig.DEFAULT_HOST_KEY), Duration.ofMinutes(5)),
                new StorageConfig(List.of(new LocalBackendConfig("local", dataDir.resolve("files"))),
                        DEFAULT_MEMORY_BUDGET, DEFAULT_PART_SIZE, DEFAULT_PART_CONCURRENCY, Duration.ofDays(1)),
                List.of(new UserConfig("demo", "demo", null, "local", "/demo", true, UserPolicy.UNLIMITED)),
                new LedgerConfig(dataDir.toString()),
                SecurityConfig.DEFAULTS,
                LimitsConfig.DEFAULTS,
                TlsConfig.NONE,
                dataDir,
                Duration.ofSeconds(30),
                true,
                new ClusterConfig(hostName()),
                WebDavConfig.DEFAULTS,
                ListenersConfig.DEFAULTS,
                TusConfig.DEFAULTS);
    }

    public GatewayConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), "no such file");
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot be read: " + e.getMessage());
        }
        return parse(text);
    }

    public GatewayConfig parse(String yaml) {
        JsonNode tree;
        try {
            tree = new YAMLMapper().readTree(yaml);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new ConfigException("config", "is not valid YAML" + where + ": " + e.getOriginalMessage());
        }
        ConfigNode root = new ConfigNode("", tree, env);
        Path dataDir = Path.of(root.string("data-dir", "./data"));
        FtpConfig ftp = ftp(root.child("ftp"));
        HttpConfig http = http(root.child("http"));
        SftpConfig sftp = root.has("sftp") ? sftp(root.child("sftp"), dataDir) : SftpConfig.disabled(dataDir);
        StorageConfig storage = storage(root.child("storage"), dataDir);
        List<UserConfig> users = users(root, storage);
        ConfigNode ledgerNode = root.child("ledger");
        LedgerConfig ledger = new LedgerConfig(ledgerNode.string("url", dataDir.toString()));
        ledgerNode.rejectUnknownKeys();
        SecurityConfig security = security(root.child("security"));
        LimitsConfig limits = limits(root.child("limits"));
        TlsConfig tls = tls(root.child("tls"));
        requireCertificate(tls, ftp, http);
        Duration grace = root.parsed("shutdown-grace", Duration.ofSeconds(30), Units::parseDuration);
        ClusterConfig cluster = cluster(root.child("cluster"));
        WebDavConfig webdav = webdav(root.child("webdav"));
        ListenersConfig listeners = listeners(root.child("listeners"));
        TusConfig tus = tus(root.child("tus"));
        root.rejectUnknownKeys();
        if (!ftp.enabled() && !http.enabled() && !sftp.enabled()) {
            throw new ConfigException("ftp.enabled", "false, and http.enabled and sftp.enabled are false too: nothing would listen");
        }
        return new GatewayConfig(ftp, http, sftp, storage, users, ledger, security, limits, tls, dataDir, grace, false, cluster,
                webdav, listeners, tus);
    }

    private static TusConfig tus(ConfigNode n) {
        TusConfig c = new TusConfig(n.bool("enabled", TusConfig.DEFAULTS.enabled()),
                positive(n, "expiry", TusConfig.DEFAULTS.expiry()));
        n.rejectUnknownKeys();
        return c;
    }

    private static WebDavConfig webdav(ConfigNode n) {
        WebDavConfig c = new WebDavConfig(n.bool("enabled", WebDavConfig.DEFAULTS.enabled()));
        n.rejectUnknownKeys();
        return c;
    }

    private static ListenersConfig listeners(ConfigNode n) {
        ListenersConfig c = new ListenersConfig(n.bool("proxy-protocol", ListenersConfig.DEFAULTS.proxyProtocol()));
        n.rejectUnknownKeys();
        return c;
    }

    private static ClusterConfig cluster(ConfigNode n) {
        String nodeId = n.string("node-id");
        Duration lease = n.parsed("lease", ClusterConfig.DEFAULT_LEASE, Units::parseDuration);
        n.rejectUnknownKeys();
        if (lease.compareTo(ClusterConfig.HEARTBEAT.multipliedBy(2)) < 0) {
            // A shorter lease would count a node dead between two of its heartbeats.
            throw new ConfigException(n.path("lease"), lease.toMillis() + "ms is shorter than 2s, two heartbeats");
        }
        if (nodeId == null) {
            nodeId = hostName();
            if (!NODE_ID.matcher(nodeId).matches()) {
                throw new ConfigException(n.path("node-id"), "the host name " + nodeId
                        + " cannot serve as the node id: set one of letters, digits, '.', '_' or '-'");
            }
        } else if (!NODE_ID.matcher(nodeId).matches()) {
            throw new ConfigException(n.path("node-id"), nodeId + " is not a name of up to 128 letters, digits, '.', '_' or '-'");
        }
        return new ClusterConfig(nodeId, lease);
    }

    /**
     * This machine's name, read from the kernel where there is one: asking the resolver
     * (InetAddress.getLocalHost) can wait on DNS at start-up.
     */
    static String hostName() {
        try {
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(kernel)) {
                String name = Files.readString(kernel).trim();
                if (!name.isEmpty()) {
                    return name;
                }
            }
        } catch (IOException e) {
            // fall back to the resolver
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    private FtpConfig ftp(ConfigNode n) {
        String host = host(n, "127.0.0.1");
        FtpConfig c = new FtpConfig(
                n.bool("enabled", true),
                host,
                n.integer("port", 2121, 0, 65535),
                n.parsed("passive-ports", DEFAULT_PASSIVE_PORTS, PortRange::parse),
                n.string("passive-address", host),
                positive(n, "idle-timeout", Duration.ofMinutes(5)),
                n.parsed("tls", FtpConfig.Tls.OFF, v -> switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
                    case "off", "false", "no" -> FtpConfig.Tls.OFF;
                    case "explicit" -> FtpConfig.Tls.EXPLICIT;
                    case "implicit" -> FtpConfig.Tls.IMPLICIT;
                    default -> throw new IllegalArgumentException(v + " is not off, explicit or implicit");
                }),
                n.bool("require-tls", false));
        if (c.requireTls() && c.tls() == FtpConfig.Tls.OFF) {
            throw new ConfigException(n.path("require-tls"), "true needs ftp.tls: explicit or implicit");
        }
        n.rejectUnknownKeys();
        return c;
    }

    private HttpConfig http(ConfigNode n) {
        HttpConfig c = new HttpConfig(
                n.bool("enabled", true),
                host(n, "127.0.0.1"),
                n.integer("port", 8080, 0, 65535),
                (int) Math.min(Integer.MAX_VALUE, n.parsed("max-header-size", 16L * 1024, Units::parseSize)),
                positive(n, "idle-timeout", Duration.ofMinutes(5)),
                n.bool("tls", false));
        n.rejectUnknownKeys();
        return c;
    }

    /** Present in the config means on, unless {@code enabled: false} says otherwise. */
    private static SftpConfig sftp(ConfigNode n, Path dataDir) {
        String hostKey = n.string("host-key");
        SftpConfig c = new SftpConfig(
                n.bool("enabled", true),
                host(n, "127.0.0.1"),
                n.integer("port", 2222, 0, 65535),
                hostKey == null ? dataDir.resolve(SftpConfig.DEFAULT_HOST_KEY) : Path.of(hostKey),
                positive(n, "idle-timeout", Duration.ofMinutes(5)));
        n.rejectUnknownKeys();
        if (Files.isDirectory(c.hostKey())) {
            throw new ConfigException(n.path("host-key"), c.hostKey() + " is a directory, not a key file");
        }
        return c;
    }

    private static TlsConfig tls(ConfigNode n) {
        Path certificate = readableFile(n, "certificate");
        Path privateKey = readableFile(n, "private-key");
        Path keystore = readableFile(n, "keystore");
        String password = n.string("keystore-password", "");
        n.rejectUnknownKeys();
        if (keystore != null && (certificate != null || privateKey != null)) {
            throw new ConfigException(n.path("keystore"), "give either certificate and private-key, or keystore, not both");
        }
        if ((certificate == null) != (privateKey == null)) {
            throw new ConfigException(n.path(certificate == null ? "certificate" : "private-key"),
                    "is required when " + (certificate == null ? "private-key" : "certificate") + " is set");
        }
        return new TlsConfig(certificate, privateKey, keystore, password);
    }

    /** A file named by {@code key} that exists and can be read, or null when the key is absent. */
    private static Path readableFile(ConfigNode n, String key) {
        String name = n.string(key);
        if (name == null) {
            return null;
        }
        Path file = Path.of(name);
        if (!Files.exists(file)) {
            throw new ConfigException(n.path(key), name + " cannot be read: no such file");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ConfigException(n.path(key), name + " cannot be read: not a readable file");
        }
        return file;
    }

    /** Turning TLS on anywhere needs the certificate it would present. */
    private static void requireCertificate(TlsConfig tls, FtpConfig ftp, HttpConfig http) {
        if (tls.configured()) {
            return;
        }
        String need = " needs a certificate: set tls.certificate and tls.private-key, or tls.keystore";
        if (ftp.enabled() && ftp.tls() != FtpConfig.Tls.OFF) {
            throw new ConfigException("ftp.tls", ftp.tls().name().toLowerCase(java.util.Locale.ROOT) + need);
        }
        if (http.enabled() && http.tls()) {
            throw new ConfigException("http.tls", "true" + need);
        }
    }

    private static SecurityConfig security(ConfigNode n) {
        SecurityConfig d = SecurityConfig.DEFAULTS;
        SecurityConfig c = new SecurityConfig(
                n.parsed("login-failure-delay", d.loginFailureDelay(), Units::parseDuration),
                n.integer("max-login-failures", d.maxLoginFailures(), 1, 1_000_000),
                positive(n, "ban-duration", d.banDuration()));
        n.rejectUnknownKeys();
        return c;
    }

    private static LimitsConfig limits(ConfigNode n) {
        LimitsConfig d = LimitsConfig.DEFAULTS;
        int max = n.integer("max-connections", d.maxConnections(), 1, 1_000_000);
        LimitsConfig c = new LimitsConfig(
                max,
                n.integer("max-connections-per-address", Math.min(max, d.maxConnectionsPerAddress()), 1, max),
                n.parsed("min-transfer-rate", d.minTransferRate(), Units::parseSize),
                positive(n, "rate-grace", d.rateGrace()),
                n.parsed("max-upload-size", d.maxUploadBytes(), Units::parseSize),
                n.integer("max-connections-per-user", d.maxConnectionsPerUser(), 0, 1_000_000));
        n.rejectUnknownKeys();
        return c;
    }

    private static UserPolicy policy(ConfigNode u) {
        String access = u.string("access", "read-write");
        boolean read;
        boolean write;
        switch (access) {
            case "read-write" -> { read = true; write = true; }
            case "read-only" -> { read = true; write = false; }
            case "write-only" -> { read = false; write = true; }
            default -> throw new ConfigException(u.path("access"), access + " is not read-write, read-only or write-only");
        }
        ConfigNode quota = u.child("quota");
        UserPolicy p = new UserPolicy(read, write, u.bool("delete", write),
                quota.parsed("bytes", 0L, Units::parseSize),
                quota.parsed("files", 0L, v -> {
                    try {
                        long n = Long.parseLong(v.trim());
                        if (n < 0) {
                            throw new NumberFormatException();
                        }
                        return n;
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException(v + " is not a number of files");
                    }
                }));
        quota.rejectUnknownKeys();
        return p;
    }

    private static String host(ConfigNode n, String fallback) {
        String host = n.string("host", fallback);
        // Literal addresses only: a name would be resolved here, at load time, through DNS.
        if (!host.matches("[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*|localhost")) {
            throw new ConfigException(n.path("host"), host + " is not an IP address");
        }
        try {
            InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new ConfigException(n.path("host"), host + " is not an IP address");
        }
        return host;
    }

    private static Duration positive(ConfigNode n, String key, Duration fallback) {
        Duration d = n.parsed(key, fallback, Units::parseDuration);
        if (d.isZero()) {
            throw new ConfigException(n.path(key), "must be longer than 0");
        }
        return d;
    }

    private StorageConfig storage(ConfigNode n, Path dataDir) {
        List<BackendConfig> backends = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (ConfigNode b : n.list("backends")) {
            BackendConfig backend = backend(b);
            if (!names.add(backend.name())) {
                throw new ConfigException(b.path("name"), backend.name() + " is used by two backends");
            }
            backends.add(backend);
        }
        if (backends.isEmpty()) {
            backends.add(new LocalBackendConfig("local", dataDir.resolve("files")));
        }
        long budget = n.parsed("memory-budget", DEFAULT_MEMORY_BUDGET, Units::parseSize);
        long partSize = n.parsed("part-size", DEFAULT_PART_SIZE, Units::parseSize);
        if (partSize < MIN_PART_SIZE || partSize > Units.parseSize("5GiB")) {
            throw new ConfigException(n.path("part-size"), Units.formatSize(partSize) + " is outside 5MiB-5GiB, the part sizes S3 accepts");
        }
        int concurrency = n.integer("part-concurrency", DEFAULT_PART_CONCURRENCY, 1, 64);
        if (budget < partSize) {
            throw new ConfigException(n.path("memory-budget"), Units.formatSize(budget) + " is smaller than one part (" + Units.formatSize(partSize) + ")");
        }
        for (int i = 0; i < backends.size(); i++) {
            if (backends.get(i) instanceof S3BackendConfig s3 && s3.partSize(partSize) > budget) {
                throw new ConfigException("storage.backends[" + i + "].part-size", Units.formatSize(s3.partSize(partSize))
                        + " is larger than storage.memory-budget (" + Units.formatSize(budget) + ")");
            }
            if (backends.get(i) instanceof AzureBackendConfig azure && azure.blockSize(partSize) > budget) {
                throw new ConfigException("storage.backends[" + i + "].block-size", Units.formatSize(azure.blockSize(partSize))
                        + " is larger than storage.memory-budget (" + Units.formatSize(budget) + ")");
            }
        }
        Duration abandoned = positive(n, "abandoned-upload-age", Duration.ofDays(1));
        List<PoolConfig> pools = pools(n, backends);
        n.rejectUnknownKeys();
        return new StorageConfig(backends, pools, budget, partSize, concurrency, abandoned);
    }

    /** {@code storage.pools}: every name is checked first, so that a member naming a later pool is told so. */
    private static List<PoolConfig> pools(ConfigNode storage, List<BackendConfig> backends) {
        Set<String> backendNames = backends.stream().map(BackendConfig::name).collect(Collectors.toSet());
        List<ConfigNode> nodes = storage.list("pools");
        List<String> names = new ArrayList<>();
        for (ConfigNode p : nodes) {
            String name = p.requiredString("name");
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(p.path("name"), name + " is not a name of letters, digits, '.', '_' or '-'");
            }
            if (backendNames.contains(name)) {
                throw new ConfigException(p.path("name"), name + " is a backend's name: a pool needs a name of its own");
            }
            if (names.contains(name)) {
                throw new ConfigException(p.path("name"), name + " is used by two pools");
            }
            names.add(name);
        }
        List<PoolConfig> pools = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            pools.add(pool(nodes.get(i), names.get(i), backendNames, names));
        }
        return pools;
    }

    private static PoolConfig pool(ConfigNode n, String name, Set<String> backendNames, List<String> poolNames) {
        List<String> members = n.strings("backends");
        if (members.isEmpty()) {
            throw new ConfigException(n.path("backends"), "a pool needs at least one backend");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < members.size(); i++) {
            String member = members.get(i);
            String at = n.path("backends") + "[" + i + "]";
            if (poolNames.contains(member)) {
                throw new ConfigException(at, member + " is a pool: the members of a pool are backends");
            }
            if (!backendNames.contains(member)) {
                throw new ConfigException(at, member + " is not a configured backend");
            }
            if (!seen.add(member)) {
                throw new ConfigException(at, member + " is listed twice");
            }
        }
        PoolConfig.Policy policy = n.parsed("policy", PoolConfig.DEFAULT_POLICY, v -> PoolConfig.Policy.ofId(v)
                .orElseThrow(() -> new IllegalArgumentException(v + " is not a policy ("
                        + oneOf(java.util.Arrays.stream(PoolConfig.Policy.values()).map(PoolConfig.Policy::id).toList()) + ")")));
        Map<String, Integer> weights = weights(n, policy, members);
        int replicas = n.integer("replicas", PoolConfig.DEFAULT_REPLICAS, Integer.MIN_VALUE, Integer.MAX_VALUE);
        if (replicas < 1 || replicas > members.size()) {
            throw new ConfigException(n.path("replicas"), replicas + " is outside 1-" + members.size()
                    + ": each copy goes to a different backend of the pool");
        }
        PoolConfig.Replication replication = n.parsed("replication", PoolConfig.DEFAULT_REPLICATION, v -> PoolConfig.Replication.ofId(v)
                .orElseThrow(() -> new IllegalArgumentException(v + " is not "
                        + oneOf(java.util.Arrays.stream(PoolConfig.Replication.values()).map(PoolConfig.Replication::id).toList()))));
        int unhealthyAfter = n.integer("unhealthy-after", PoolConfig.DEFAULT_UNHEALTHY_AFTER, Integer.MIN_VALUE, Integer.MAX_VALUE);
        if (unhealthyAfter < 1) {
            throw new ConfigException(n.path("unhealthy-after"), unhealthyAfter + " is less than 1 failure");
        }
        Duration probeInterval = positive(n, "probe-interval", PoolConfig.DEFAULT_PROBE_INTERVAL);
        n.rejectUnknownKeys();
        return new PoolConfig(name, members, policy, weights, replicas, replication, unhealthyAfter, probeInterval);
    }

    /** Every member's weight, 1 unless given, for the weighted policy; none for the others. */
    private static Map<String, Integer> weights(ConfigNode n, PoolConfig.Policy policy, List<String> members) {
        if (policy != PoolConfig.Policy.WEIGHTED) {
            if (n.has("weights")) {
                throw new ConfigException(n.path("weights"), "is only for policy: weighted, not " + policy.id());
            }
            return Map.of();
        }
        ConfigNode w = n.child("weights");
        Map<String, Integer> given = new HashMap<>();
        for (String member : w.keys()) {
            if (!members.contains(member)) {
                throw new ConfigException(w.path(member), member + " is not a backend of this pool (" + String.join(", ", members) + ")");
            }
            String v = w.string(member);
            int weight;
            try {
                weight = v == null ? 0 : Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                weight = 0;
            }
            if (weight < 1) {
                throw new ConfigException(w.path(member), v == null
                        ? "needs a weight, a positive whole number" : v + " is not a positive whole number");
            }
            given.put(member, weight);
        }
        w.rejectUnknownKeys();
        Map<String, Integer> weights = new LinkedHashMap<>();
        for (String member : members) {
            weights.put(member, given.getOrDefault(member, 1));
        }
        return weights;
    }

    /** "a", "a or b", "a, b or c": the valid values for an error message. */
    private static String oneOf(List<String> values) {
        if (values.size() == 1) {
            return values.get(0);
        }
        return String.join(", ", values.subList(0, values.size() - 1)) + " or " + values.get(values.size() - 1);
    }

    private BackendConfig backend(ConfigNode n) {
        String name = n.requiredString("name");
        if (!NAME.matcher(name).matches()) {
            throw new ConfigException(n.path("name"), name + " is not a name of letters, digits, '.', '_' or '-'");
        }
        String type = n.requiredString("type");
        BackendConfig c = BackendTypes.named(type)
                .orElseThrow(() -> new ConfigException(n.path("type"), type + " is not a backend type (" + BackendTypes.names() + ")"))
                .parse(n, name);
        n.rejectUnknownKeys();
        return c;
    }

    private List<UserConfig> users(ConfigNode root, StorageConfig storage) {
        List<UserConfig> users = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (ConfigNode u : root.list("users")) {
            String name = u.requiredString("name");
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(u.path("name"), name + " is not a name of letters, digits, '.', '_' or '-'");
            }
            if (!names.add(name)) {
                throw new ConfigException(u.path("name"), name + " is configured twice");
            }
            String password = u.string("password");
            String hash = u.string("password-hash");
            if ((password == null) == (hash == null)) {
                throw new ConfigException(u.path("password"), "give either password or password-hash");
            }
            if (password != null && password.isEmpty()) {
                throw new ConfigException(u.path("password"), "must not be empty");
            }
            String backend = u.string("backend", storage.defaultBackend().name());
            if (!storage.hasTarget(backend)) {
                throw new ConfigException(u.path("backend"), backend + " is not a configured backend or pool");
            }
            String home = u.string("home", "/" + name);
            if (!home.startsWith("/") || home.contains("\\") || home.contains("\0")
                    || ("/" + home + "/").contains("/../") || ("/" + home + "/").contains("/./")) {
                throw new ConfigException(u.path("home"), home + " is not an absolute path without . or ..");
            }
            home = "/" + String.join("/", java.util.Arrays.stream(home.split("/")).filter(s -> !s.isEmpty()).toList());
            List<FolderRule> folders = folders(u, storage);
            List<String> keys = u.strings("authorized-keys");
            for (int i = 0; i < keys.size(); i++) {
                String problem = AuthorizedKeys.problem(keys.get(i));
                if (problem != null) {
                    throw new ConfigException(u.path("authorized-keys") + "[" + i + "]", "key of user " + name + ": " + problem);
                }
            }
            users.add(new UserConfig(name, password, hash, backend, home, u.bool("admin", false), policy(u), folders, keys));
            u.rejectUnknownKeys();
        }
        if (users.isEmpty()) {
            throw new ConfigException("users", "at least one user is required");
        }
        return users;
    }

    /** {@code users[].folders}: each a normalized folder of the user's own, on a backend or pool. */
    private static List<FolderRule> folders(ConfigNode u, StorageConfig storage) {
        List<FolderRule> rules = new ArrayList<>();
        Set<String> paths = new HashSet<>();
        for (ConfigNode f : u.list("folders")) {
            String path = f.requiredString("path");
            if (path.equals("/")) {
                throw new ConfigException(f.path("path"), "/ is the whole home, whose backend is the user's backend");
            }
            if (!normalizedFolder(path)) {
                throw new ConfigException(f.path("path"), path + " is not an absolute path without ., .., // or a trailing /");
            }
            if (!paths.add(path)) {
                throw new ConfigException(f.path("path"), path + " has two rules");
            }
            String backend = f.requiredString("backend");
            if (!storage.hasTarget(backend)) {
                throw new ConfigException(f.path("backend"), backend + " is not a configured backend or pool");
            }
            f.rejectUnknownKeys();
            rules.add(new FolderRule(path, backend));
        }
        return rules;
    }

    /** "/a/b": absolute, no empty, "." or ".." segment, no trailing "/". */
    private static boolean normalizedFolder(String path) {
        if (!path.startsWith("/") || path.contains("\\") || path.contains("\0")) {
            return false;
        }
        String[] segments = path.substring(1).split("/", -1);
        for (String s : segments) {
            if (s.isEmpty() || s.equals(".") || s.equals("..")) {
                return false;
            }
        }
        return true;
    }
}
