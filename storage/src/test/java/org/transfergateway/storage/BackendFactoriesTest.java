package org.transfergateway.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.BackendType;
import org.transfergateway.config.BackendTypes;
import org.transfergateway.config.LocalBackendConfig;
import org.transfergateway.config.S3BackendConfig;

class BackendFactoriesTest {
    @Test
    void everyRegisteredConfigTypeHasAFactory() {
        for (BackendType type : BackendTypes.ALL) {
            assertTrue(BackendFactories.supports(type.configClass()),
                    "backend type " + type.name() + " has no factory in BackendFactories");
        }
    }

    @Test
    void describesEachTypeForTheStartUpLog() {
        assertEquals("local disk at " + Path.of("files").toAbsolutePath(),
                BackendFactories.describe(new LocalBackendConfig("local", Path.of("./files"))));
        assertEquals("s3 bucket b under p/ at http://127.0.0.1:9000",
                BackendFactories.describe(new S3BackendConfig("s", "b", "p/", "us-east-1",
                        URI.create("http://127.0.0.1:9000"), true, null, null, S3BackendConfig.Checksums.WHEN_REQUIRED)));
        assertEquals("azure container c under p/ at http://127.0.0.1:10000/devstoreaccount1",
                BackendFactories.describe(new AzureBackendConfig("a", "c", "p/", URI.create("http://127.0.0.1:10000/devstoreaccount1"),
                        "devstoreaccount1", "secret-key", null, null, 0)));
        assertEquals("azure container c at https://acct.blob.core.windows.net",
                BackendFactories.describe(new AzureBackendConfig("a", "c", "", null, "acct", null, null, null, 0)));
        assertEquals("gcs bucket b under p/ at http://127.0.0.1:4443",
                BackendFactories.describe(new GcsBackendConfig("g", "b", "p/", "my-project", Path.of("key.json"),
                        URI.create("http://127.0.0.1:4443"), 0)));
        assertEquals("gcs bucket b at https://storage.googleapis.com",
                BackendFactories.describe(new GcsBackendConfig("g", "b", "", null, null, null, 0)));
    }

    @Test
    void anUnregisteredRecordIsAProgrammingError() {
        BackendConfig unknown = () -> "x";
        assertThrows(IllegalStateException.class, () -> BackendFactories.describe(unknown));
    }
}
