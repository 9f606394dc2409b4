package org.transfergateway.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
    private final ConfigLoader loader = new ConfigLoader(Map.of("S3_ACCESS_KEY", "AKID", "S3_SECRET_KEY", "s3cret"));

    private static final String FULL = """
            ftp:
              enabled: true
              host: 127.0.0.1
              port: 2121
              passive-ports: 50000-50100
              passive-address: 127.0.0.1
            http:
              enabled: true
              host: 127.0.0.1
              port: 8080
            storage:
              backends:
                - name: local
                  type: local
                  root: ./data/files
                - name: archive
                  type: s3
                  bucket: transfers
                  prefix: ""
                  region: us-east-1
                  endpoint: http://127.0.0.1:9000
                  path-style: true
                  access-key: ${S3_ACCESS_KEY}
                  secret-key: ${S3_SECRET_KEY}
            users:
              - name: alice
                password: secret
                backend: archive
                home: /alice
                admin: false
            ledger:
              url: ./data/ledger
            """;

    private String error(String yaml) {
        return assertThrows(ConfigException.class, () -> loader.parse(yaml)).getMessage();
    }

    @Test
    void theSpecExampleLoadsWithEveryValue() {
        GatewayConfig c = loader.parse(FULL);
        assertEquals(2121, c.ftp().port());
        assertEquals(new PortRange(50000, 50100), c.ftp().passivePorts());
        assertEquals(8080, c.http().port());
        assertEquals("local", c.storage().defaultBackend().name());
        S3BackendConfig s3 = assertInstanceOf(S3BackendConfig.class, c.storage().backend("archive").orElseThrow());
        assertEquals("AKID", s3.accessKey());
        assertEquals("s3cret", s3.secretKey());
        assertEquals(URI.create("http://127.0.0.1:9000"), s3.endpoint());
        assertTrue(s3.pathStyle());
        assertEquals("", s3.prefix());
        UserConfig alice = c.user("alice").orElseThrow();
        assertEquals("archive", alice.backend());
        assertEquals("/alice", alice.home());
        assertFalse(alice.admin());
        assertEquals("./data/ledger", c.ledger().url());
        assertFalse(c.demo());
    }

    @Test
    void omittedKeysTakeTheirDefaults() {
        GatewayConfig c = loader.parse("users:\n  - name: bob\n    password: pw\n");
        assertEquals("127.0.0.1", c.ftp().host());
        assertEquals(2121, c.ftp().port());
        assertEquals(8080, c.http().port());
        assertEquals("/bob", c.user("bob").orElseThrow().home());
        assertEquals("local", c.user("bob").orElseThrow().backend());
        assertEquals(Path.of("./data/files"), ((LocalBackendConfig) c.storage().defaultBackend()).root());
        assertEquals(256L << 20, c.storage().memoryBudgetBytes());
        assertEquals(Duration.ofMinutes(5), c.ftp().idleTimeout());
    }

    @Test
    void embeddedDefaultsHaveTheDemoUserOnLoopback() {
        GatewayConfig c = ConfigLoader.defaults(Path.of("data"));
        assertTrue(c.demo());
        assertEquals("127.0.0.1", c.ftp().host());
        assertEquals("127.0.0.1", c.http().host());
        assertEquals("demo", c.user("demo").orElseThrow().password());
        assertEquals(Path.of("data", "files"), ((LocalBackendConfig) c.storage().defaultBackend()).root());
    }

    @Test
    void unsetEnvironmentVariableIsNamed() {
        String msg = assertThrows(ConfigException.class,
                () -> new ConfigLoader(Map.of()).parse(FULL)).getMessage();
        assertEquals("storage.backends[1].access-key: environment variable S3_ACCESS_KEY is not set", msg);
    }

    @Test
    void reversedPassiveRangeNamesKeyAndValue() {
        assertEquals("ftp.passive-ports: 50100-50000 is not a range of ports 1-65535",
                error("ftp:\n  passive-ports: 50100-50000\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void unknownKeyIsRefused() {
        assertEquals("http.prot: is not a known key",
                error("http:\n  prot: 80\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void proxyProtocolIsOffUnlessTurnedOnAndKnowsOnlyItsKey() {
        assertFalse(loader.parse("users: [{name: a, password: b}]\n").listeners().proxyProtocol());
        assertFalse(ConfigLoader.defaults(java.nio.file.Path.of("data")).listeners().proxyProtocol());
        assertTrue(loader.parse("listeners:\n  proxy-protocol: true\nusers: [{name: a, password: b}]\n").listeners().proxyProtocol());
        assertEquals("listeners.proxy: is not a known key",
                error("listeners:\n  proxy: true\nusers: [{name: a, password: b}]\n"));
        assertEquals("listeners.proxy-protocol: v2 is not true or false",
                error("listeners:\n  proxy-protocol: v2\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void webdavIsOnUnlessTurnedOffAndKnowsOnlyEnabled() {
        assertTrue(loader.parse("users: [{name: a, password: b}]\n").webdav().enabled());
        assertTrue(ConfigLoader.defaults(java.nio.file.Path.of("data")).webdav().enabled());
        assertFalse(loader.parse("webdav:\n  enabled: false\nusers: [{name: a, password: b}]\n").webdav().enabled());
        assertEquals("webdav.path: is not a known key",
                error("webdav:\n  path: /x\nusers: [{name: a, password: b}]\n"));
        assertEquals("webdav.enabled: maybe is not true or false",
                error("webdav:\n  enabled: maybe\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void tusIsOnUnlessTurnedOffAndExpiresAfterADayUnlessSet() {
        GatewayConfig plain = loader.parse("users: [{name: a, password: b}]\n");
        assertTrue(plain.tus().enabled());
        assertEquals(java.time.Duration.ofHours(24), plain.tus().expiry());
        assertEquals(TusConfig.DEFAULTS, ConfigLoader.defaults(java.nio.file.Path.of("data")).tus());
        GatewayConfig set = loader.parse("tus:\n  enabled: false\n  expiry: 90m\nusers: [{name: a, password: b}]\n");
        assertEquals(new TusConfig(false, java.time.Duration.ofMinutes(90)), set.tus());
        assertEquals("tus.expiry: must be longer than 0", error("tus:\n  expiry: 0s\nusers: [{name: a, password: b}]\n"));
        assertEquals("tus.max-size: is not a known key", error("tus:\n  max-size: 1GiB\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void connectionsPerUserAreUnlimitedUnlessSet() {
        assertEquals(0, loader.parse("users: [{name: a, password: b}]\n").limits().maxConnectionsPerUser());
        assertEquals(3, loader.parse("limits: {max-connections-per-user: 3}\nusers: [{name: a, password: b}]\n")
                .limits().maxConnectionsPerUser());
        assertEquals("limits.max-connections-per-user: -1 is outside 0-1000000",
                error("limits: {max-connections-per-user: -1}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void badPortIsRefused() {
        assertEquals("ftp.port: 70000 is outside 0-65535",
                error("ftp:\n  port: 70000\nusers: [{name: a, password: b}]\n"));
        assertEquals("http.port: eighty is not a whole number",
                error("http:\n  port: eighty\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void userOnMissingBackendIsRefused() {
        assertEquals("users[0].backend: tape is not a configured backend or pool",
                error("users: [{name: a, password: b, backend: tape}]\n"));
    }

    @Test
    void homeWithDotDotIsRefused() {
        assertEquals("users[0].home: /a/../b is not an absolute path without . or ..",
                error("users: [{name: a, password: b, home: /a/../b}]\n"));
    }

    @Test
    void userNeedsExactlyOnePasswordForm() {
        assertEquals("users[0].password: give either password or password-hash",
                error("users: [{name: a}]\n"));
    }

    @Test
    void unknownBackendTypeIsNamed() {
        assertEquals("storage.backends[0].type: ftp is not a backend type (local, s3, azure or gcs)",
                error("storage:\n  backends: [{name: x, type: ftp}]\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void unknownBackendTypeErrorListsEveryRegisteredType() {
        String message = error("storage:\n  backends: [{name: x, type: ftp}]\nusers: [{name: a, password: b}]\n");
        for (BackendType type : BackendTypes.ALL) {
            assertTrue(message.contains(type.name()), type.name() + " missing from: " + message);
        }
    }

    @Test
    void registeredBackendTypesHaveDistinctNamesAndRecords() {
        assertEquals(BackendTypes.ALL.size(), BackendTypes.ALL.stream().map(BackendType::name).distinct().count());
        assertEquals(BackendTypes.ALL.size(), BackendTypes.ALL.stream().map(BackendType::configClass).distinct().count());
    }

    @Test
    void sizesAndDurationsAcceptUnits() {
        assertEquals(64L << 10, Units.parseSize("64KiB"));
        assertEquals(8L << 20, Units.parseSize("8MiB"));
        assertEquals(1L << 30, Units.parseSize("1GiB"));
        assertEquals(123, Units.parseSize("123"));
        assertEquals(Duration.ofSeconds(30), Units.parseDuration("30s"));
        assertEquals(Duration.ofMinutes(5), Units.parseDuration("5m"));
        assertEquals("storage.memory-budget: lots is not a size such as 64KiB, 8MiB or 1GiB",
                error("storage:\n  memory-budget: lots\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void invalidYamlSaysWhere() {
        assertTrue(error("ftp: [\n").startsWith("config: is not valid YAML at line"));
    }

    @Test
    void s3PrefixGetsTrailingSlashAndChecksumsSetting() {
        GatewayConfig c = loader.parse("""
                storage:
                  backends:
                    - {name: s3, type: s3, bucket: bkt, prefix: /gw, checksums: when-required}
                users: [{name: a, password: b}]
                """);
        S3BackendConfig s3 = (S3BackendConfig) c.storage().defaultBackend();
        assertEquals("gw/", s3.prefix());
        assertEquals(S3BackendConfig.Checksums.WHEN_REQUIRED, s3.checksums());
        assertNull(s3.endpoint());
        assertFalse(s3.pathStyle());
    }

    @Test
    void s3ChecksumsDefaultToWhenRequiredWithAnEndpointAndWhenSupportedOnAws() {
        GatewayConfig c = loader.parse("""
                storage:
                  backends:
                    - {name: aws, type: s3, bucket: bkt}
                    - {name: compatible, type: s3, bucket: bkt, endpoint: "http://127.0.0.1:9000"}
                    - {name: chosen, type: s3, bucket: bkt, endpoint: "http://127.0.0.1:9000", checksums: when-supported}
                users: [{name: a, password: b}]
                """);
        assertEquals(S3BackendConfig.Checksums.WHEN_SUPPORTED, ((S3BackendConfig) c.storage().backend("aws").orElseThrow()).checksums());
        assertEquals(S3BackendConfig.Checksums.WHEN_REQUIRED, ((S3BackendConfig) c.storage().backend("compatible").orElseThrow()).checksums());
        assertEquals(S3BackendConfig.Checksums.WHEN_SUPPORTED, ((S3BackendConfig) c.storage().backend("chosen").orElseThrow()).checksums());
    }

    @Test
    void s3PayloadsAreSignedByDefaultAndUnsignedWhenAsked() {
        GatewayConfig c = loader.parse("""
                storage:
                  backends:
                    - {name: signed, type: s3, bucket: bkt, endpoint: "http://127.0.0.1:9000"}
                    - {name: unsigned, type: s3, bucket: bkt, endpoint: "http://127.0.0.1:9000", payload-signing: false}
                users: [{name: a, password: b}]
                """);
        assertTrue(((S3BackendConfig) c.storage().backend("signed").orElseThrow()).signedPayloads());
        assertFalse(((S3BackendConfig) c.storage().backend("unsigned").orElseThrow()).signedPayloads());
        assertEquals("storage.backends[0].payload-signing: maybe is not true or false",
                error("storage: {backends: [{name: s, type: s3, bucket: bkt, payload-signing: maybe}]}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void s3ListingTimesAreKeptByDefaultAndServerWhenAsked() {
        GatewayConfig c = loader.parse("""
                storage:
                  backends:
                    - {name: kept, type: s3, bucket: bkt}
                    - {name: server, type: s3, bucket: bkt, listing-times: server}
                users: [{name: a, password: b}]
                """);
        assertFalse(((S3BackendConfig) c.storage().backend("kept").orElseThrow()).serverTimesInListings());
        assertTrue(((S3BackendConfig) c.storage().backend("server").orElseThrow()).serverTimesInListings());
        assertEquals("storage.backends[0].listing-times: fast is not kept or server",
                error("storage: {backends: [{name: s, type: s3, bucket: bkt, listing-times: fast}]}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void theSpecsAzureExampleLoadsAndItsCredentialsAreChecked() {
        ConfigLoader withEnv = new ConfigLoader(Map.of("AZURE_ACCOUNT", "devstoreaccount1", "AZURE_KEY", "a2V5"));
        GatewayConfig c = withEnv.parse("""
                storage:
                  backends:
                    - name: blob
                      type: azure
                      container: transfers
                      prefix: /gw
                      endpoint: http://127.0.0.1:10000/devstoreaccount1
                      account-name: ${AZURE_ACCOUNT}
                      account-key: ${AZURE_KEY}
                      block-size: 4MiB
                    - {name: chain, type: azure, container: transfers, account-name: acct}
                    - {name: cs, type: azure, container: transfers, connection-string: "UseDevelopmentStorage=true"}
                    - {name: sas, type: azure, container: transfers, account-name: acct, sas-token: "?sv=1&sig=x"}
                users: [{name: a, password: b}]
                """);
        AzureBackendConfig blob = (AzureBackendConfig) c.storage().defaultBackend();
        assertEquals("transfers", blob.container());
        assertEquals("gw/", blob.prefix());
        assertEquals(URI.create("http://127.0.0.1:10000/devstoreaccount1"), blob.endpoint());
        assertEquals("devstoreaccount1", blob.accountName());
        assertEquals("a2V5", blob.accountKey());
        assertEquals(4L << 20, blob.blockSize(c.storage().partSizeBytes()));
        assertFalse(blob.toString().contains("a2V5"));
        AzureBackendConfig chain = (AzureBackendConfig) c.storage().backend("chain").orElseThrow();
        assertNull(chain.accountKey());
        assertEquals("https://acct.blob.core.windows.net", chain.endpointText());
        assertEquals(c.storage().partSizeBytes(), chain.blockSize(c.storage().partSizeBytes()));
        assertEquals("UseDevelopmentStorage=true", ((AzureBackendConfig) c.storage().backend("cs").orElseThrow()).connectionString());
        assertEquals("sv=1&sig=x", ((AzureBackendConfig) c.storage().backend("sas").orElseThrow()).sasToken());

        String users = "users: [{name: a, password: b}]\n";
        assertEquals("storage.backends[0].container: is required",
                error("storage: {backends: [{name: z, type: azure, account-name: acct}]}\n" + users));
        assertEquals("storage.backends[0].container: Bad_Name is not a valid container name",
                error("storage: {backends: [{name: z, type: azure, container: Bad_Name, account-name: acct}]}\n" + users));
        assertEquals("storage.backends[0].account-name: is required when account-key is set",
                error("storage: {backends: [{name: z, type: azure, container: c01, endpoint: \"http://127.0.0.1:1\", account-key: k}]}\n" + users));
        assertEquals("storage.backends[0].account-name: is required without endpoint or connection-string",
                error("storage: {backends: [{name: z, type: azure, container: c01}]}\n" + users));
        assertEquals("storage.backends[0].connection-string: holds the endpoint and credentials: leave out endpoint, account-key and sas-token",
                error("storage: {backends: [{name: z, type: azure, container: c01, connection-string: x, sas-token: y}]}\n" + users));
        assertEquals("storage.backends[0].endpoint: ftp://x is not an http:// or https:// URL",
                error("storage: {backends: [{name: z, type: azure, container: c01, account-name: a, endpoint: \"ftp://x\"}]}\n" + users));
        assertEquals("storage.backends[0].block-size: 8.0 GiB is outside 1MiB-4000MiB, the block sizes Azure accepts",
                error("storage: {backends: [{name: z, type: azure, container: c01, account-name: a, block-size: 8GiB}]}\n" + users));
        assertEquals("storage.backends[0].bucket: is not a known key",
                error("storage: {backends: [{name: z, type: azure, container: c01, account-name: a, bucket: b}]}\n" + users));
    }

    @Test
    void theSpecsGcsExampleLoadsAndItsKeysAreChecked() {
        GatewayConfig c = loader.parse("""
                storage:
                  backends:
                    - name: gcs
                      type: gcs
                      bucket: transfers
                      prefix: /gw
                      project: my-project
                      credentials-file: ./key.json
                      endpoint: http://127.0.0.1:4443
                      chunk-size: 1MiB
                    - {name: adc, type: gcs, bucket: transfers}
                users: [{name: a, password: b}]
                """);
        GcsBackendConfig gcs = (GcsBackendConfig) c.storage().defaultBackend();
        assertEquals("transfers", gcs.bucket());
        assertEquals("gw/", gcs.prefix());
        assertEquals("my-project", gcs.project());
        assertEquals(Path.of("./key.json"), gcs.credentialsFile());
        assertEquals(URI.create("http://127.0.0.1:4443"), gcs.endpoint());
        assertEquals(1L << 20, gcs.chunkSize(c.storage().partSizeBytes()));
        GcsBackendConfig adc = (GcsBackendConfig) c.storage().backend("adc").orElseThrow();
        assertNull(adc.credentialsFile());
        assertNull(adc.project());
        assertEquals("https://storage.googleapis.com", adc.endpointText());
        assertEquals(c.storage().partSizeBytes(), adc.chunkSize(c.storage().partSizeBytes()));

        String users = "users: [{name: a, password: b}]\n";
        assertEquals("storage.backends[0].bucket: is required",
                error("storage: {backends: [{name: z, type: gcs}]}\n" + users));
        assertEquals("storage.backends[0].bucket: Bad_Name is not a valid bucket name",
                error("storage: {backends: [{name: z, type: gcs, bucket: Bad_Name}]}\n" + users));
        assertEquals("storage.backends[0].bucket: " + "a".repeat(64) + " is not a valid bucket name",
                error("storage: {backends: [{name: z, type: gcs, bucket: " + "a".repeat(64) + "}]}\n" + users));
        assertEquals("transfers." + "b".repeat(63), ((GcsBackendConfig) loader.parse("storage: {backends: [{name: z, type: gcs, bucket: transfers."
                + "b".repeat(63) + "}]}\n" + users).storage().defaultBackend()).bucket());
        assertEquals("storage.backends[0].project: P is not a valid project id",
                error("storage: {backends: [{name: z, type: gcs, bucket: b01, project: P}]}\n" + users));
        assertEquals("storage.backends[0].endpoint: ftp://x is not an http:// or https:// URL",
                error("storage: {backends: [{name: z, type: gcs, bucket: b01, endpoint: \"ftp://x\"}]}\n" + users));
        assertEquals("storage.backends[0].endpoint: http://h:1/storage/v1 has a path: give the scheme, host and port only",
                error("storage: {backends: [{name: z, type: gcs, bucket: b01, endpoint: \"http://h:1/storage/v1\"}]}\n" + users));
        assertEquals("storage.backends[0].chunk-size: 300.0 KiB is not a multiple of 256KiB between 256KiB and 1GiB",
                error("storage: {backends: [{name: z, type: gcs, bucket: b01, chunk-size: 300KiB}]}\n" + users));
        assertEquals("storage.backends[0].container: is not a known key",
                error("storage: {backends: [{name: z, type: gcs, bucket: b01, container: c}]}\n" + users));
    }

    @Test
    void anS3BackendHasItsOwnPartSettingsOrTheStoragesOnes() {
        GatewayConfig c = loader.parse("""
                storage:
                  part-size: 16MiB
                  part-concurrency: 3
                  backends:
                    - {name: own, type: s3, bucket: bkt, part-size: 64MiB, part-concurrency: 8}
                    - {name: shared, type: s3, bucket: bkt}
                users: [{name: a, password: b}]
                """);
        S3BackendConfig own = (S3BackendConfig) c.storage().backend("own").orElseThrow();
        S3BackendConfig shared = (S3BackendConfig) c.storage().backend("shared").orElseThrow();
        assertEquals(64L << 20, own.partSize(c.storage().partSizeBytes()));
        assertEquals(8, own.partConcurrency(c.storage().partConcurrency()));
        assertEquals(16L << 20, shared.partSize(c.storage().partSizeBytes()));
        assertEquals(3, shared.partConcurrency(c.storage().partConcurrency()));
        assertEquals("storage.backends[0].part-size: 4.0 MiB is outside 5MiB-5GiB, the part sizes S3 accepts",
                error("storage: {backends: [{name: s, type: s3, bucket: bkt, part-size: 4MiB}]}\nusers: [{name: a, password: b}]\n"));
        assertEquals("storage.backends[0].part-concurrency: 0 is outside 1-64",
                error("storage: {backends: [{name: s, type: s3, bucket: bkt, part-concurrency: 0}]}\nusers: [{name: a, password: b}]\n"));
        assertEquals("storage.backends[0].part-size: 1.0 GiB is larger than storage.memory-budget (256.0 MiB)",
                error("storage: {memory-budget: 256MiB, backends: [{name: s, type: s3, bucket: bkt, part-size: 1GiB}]}\n"
                        + "users: [{name: a, password: b}]\n"));
    }

    @Test
    void nodeIdIsConfiguredOrTheHostName() {
        assertEquals("gw-1", loader.parse("cluster: {node-id: gw-1}\nusers: [{name: a, password: b}]\n").cluster().nodeId());
        assertEquals(ConfigLoader.hostName(), loader.parse("users: [{name: a, password: b}]\n").cluster().nodeId());
        assertEquals("cluster.node-id: gw 1 is not a name of up to 128 letters, digits, '.', '_' or '-'",
                error("cluster: {node-id: gw 1}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void leaseIsTenSecondsUnlessConfiguredAndOutlastsTwoHeartbeats() {
        assertEquals(java.time.Duration.ofSeconds(10), loader.parse("users: [{name: a, password: b}]\n").cluster().lease());
        assertEquals(java.time.Duration.ofSeconds(2),
                loader.parse("cluster: {lease: 2s}\nusers: [{name: a, password: b}]\n").cluster().lease());
        assertEquals("cluster.lease: 1500ms is shorter than 2s, two heartbeats",
                error("cluster: {lease: 1500ms}\nusers: [{name: a, password: b}]\n"));
        assertEquals("cluster.leases: is not a known key", error("cluster: {leases: 2s}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void tlsIsOffUnlessConfigured() {
        GatewayConfig c = loader.parse(FULL);
        assertEquals(FtpConfig.Tls.OFF, c.ftp().tls());
        assertFalse(c.ftp().requireTls());
        assertFalse(c.http().tls());
        assertFalse(c.tls().configured());
    }

    @Test
    void tlsSettingsAreReadWithAPemPair(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path cert = java.nio.file.Files.writeString(dir.resolve("cert.pem"), "x");
        Path key = java.nio.file.Files.writeString(dir.resolve("key.pem"), "x");
        GatewayConfig c = loader.parse("tls: {certificate: " + cert + ", private-key: " + key + "}\n"
                + "ftp: {tls: implicit, require-tls: true}\nhttp: {tls: true}\nusers: [{name: a, password: b}]\n");
        assertEquals(FtpConfig.Tls.IMPLICIT, c.ftp().tls());
        assertTrue(c.ftp().requireTls());
        assertTrue(c.http().tls());
        assertEquals(cert, c.tls().certificate());
        assertEquals(key, c.tls().privateKey());
    }

    @Test
    void tlsWithoutACertificateIsAnErrorNamingTheKey() {
        assertEquals("ftp.tls: explicit needs a certificate: set tls.certificate and tls.private-key, or tls.keystore",
                error("ftp: {tls: explicit}\nusers: [{name: a, password: b}]\n"));
        assertEquals("http.tls: true needs a certificate: set tls.certificate and tls.private-key, or tls.keystore",
                error("http: {tls: true}\nusers: [{name: a, password: b}]\n"));
        assertEquals("ftp.tls: sometimes is not off, explicit or implicit",
                error("ftp: {tls: sometimes}\nusers: [{name: a, password: b}]\n"));
        assertEquals("ftp.require-tls: true needs ftp.tls: explicit or implicit",
                error("ftp: {require-tls: true}\nusers: [{name: a, password: b}]\n"));
    }

    @Test
    void tlsFilesMustExistAndComeInPairs(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path cert = java.nio.file.Files.writeString(dir.resolve("cert.pem"), "x");
        assertEquals("tls.private-key: " + dir.resolve("nope.pem") + " cannot be read: no such file",
                error("tls: {certificate: " + cert + ", private-key: " + dir.resolve("nope.pem") + "}\nusers: [{name: a, password: b}]\n"));
        assertEquals("tls.private-key: is required when certificate is set",
                error("tls: {certificate: " + cert + "}\nusers: [{name: a, password: b}]\n"));
        assertEquals("tls.keystore: give either certificate and private-key, or keystore, not both",
                error("tls: {certificate: " + cert + ", keystore: " + cert + "}\nusers: [{name: a, password: b}]\n"));
    }

    private static final String ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEc/ZhJbov/W40PFrrm0OS6heipSogvNZ0y2rHylvKAh alice@laptop";
    private static final String ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMcGcU7IqZg31As1DPSBI7FryKNBtNuE7frDH3uA4Frbz5qCadLER/Xa7TBU2O76CEw7+OWgATjL7dgDrQMWIAM=";

    @Test
    void sftpIsOffWithoutItsSection() {
        GatewayConfig c = loader.parse("users:\n  - name: bob\n    password: pw\n");
        assertFalse(c.sftp().enabled());
        assertTrue(c.user("bob").orElseThrow().authorizedKeys().isEmpty());
    }

    @Test
    void sftpSectionTurnsItOnWithItsDefaults() {
        GatewayConfig c = loader.parse("data-dir: /srv/gw\nsftp: {}\nusers:\n  - name: bob\n    password: pw\n");
        assertTrue(c.sftp().enabled());
        assertEquals("127.0.0.1", c.sftp().host());
        assertEquals(2222, c.sftp().port());
        assertEquals(Path.of("/srv/gw", "ssh_host_ed25519_key"), c.sftp().hostKey());
        assertEquals(Duration.ofMinutes(5), c.sftp().idleTimeout());
    }

    @Test
    void sftpKeysAreRead() {
        GatewayConfig c = loader.parse("""
                sftp:
                  enabled: true
                  host: 0.0.0.0
                  port: 0
                  host-key: /etc/gw/key
                  idle-timeout: 30s
                users:
                  - name: alice
                    password: pw
                    authorized-keys: ["%s", "%s"]
                """.formatted(ED25519, ECDSA));
        assertEquals("0.0.0.0", c.sftp().host());
        assertEquals(0, c.sftp().port());
        assertEquals(Path.of("/etc/gw/key"), c.sftp().hostKey());
        assertEquals(Duration.ofSeconds(30), c.sftp().idleTimeout());
        assertEquals(java.util.List.of(ED25519, ECDSA), c.user("alice").orElseThrow().authorizedKeys());
    }

    @Test
    void sftpUnknownKeyIsRefused() {
        assertEquals("sftp.hostkey: is not a known key", error("sftp:\n  hostkey: x\nusers:\n  - name: a\n    password: p\n"));
    }

    @Test
    void embeddedDefaultsServeSftpOnLoopback2222() {
        GatewayConfig c = ConfigLoader.defaults(Path.of("data"));
        assertTrue(c.sftp().enabled());
        assertEquals("127.0.0.1", c.sftp().host());
        assertEquals(2222, c.sftp().port());
        assertEquals(Path.of("data", "ssh_host_ed25519_key"), c.sftp().hostKey());
    }

    @Test
    void badAuthorizedKeyNamesTheUser() {
        String base = "users:\n  - name: alice\n    password: pw\n    authorized-keys: [\"%s\"]\n";
        assertEquals("users[0].authorized-keys[0]: key of user alice: ssh-dss is not a supported key type"
                        + " (ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, sk-ecdsa-sha2-nistp256@openssh.com,"
                        + " sk-ssh-ed25519@openssh.com, ssh-ed25519, ssh-rsa)",
                error(base.formatted("ssh-dss AAAAB3NzaC1kc3M= old")));
        assertEquals("users[0].authorized-keys[0]: key of user alice: the ssh-ed25519 key is not valid base64",
                error(base.formatted("ssh-ed25519 AAAA%%%% x")));
        assertEquals("users[0].authorized-keys[0]: key of user alice: the key data is of type ecdsa-sha2-nistp256, not ssh-ed25519",
                error(base.formatted("ssh-ed25519 " + ECDSA.split(" ")[1])));
        assertEquals("users[0].authorized-keys[0]: key of user alice: the ssh-ed25519 key does not hold a 32-byte public key",
                error(base.formatted(ED25519.substring(0, 60))));
        assertEquals("users[0].authorized-keys[0]: key of user alice: is not an OpenSSH public key line (type, base64 key, optional comment)",
                error(base.formatted("hello")));
    }
}
