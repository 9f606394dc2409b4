package org.transfergateway.storage.local;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;

/** The storage contract on the local-disk backend, in a real temporary folder per test. */
class LocalStorageContractTest extends StorageContractTest {
    @TempDir
    Path dir;

    @Override
    protected Storage newStorage() throws IOException {
        return new LocalStorage("local", dir.resolve("root"));
    }

    /** An upload's temporary file is gone once it is committed, aborted or closed. */
    @Override
    protected void assertNoUploadLeftOpen() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("root").resolve(LocalStorage.TEMP_FOLDER))) {
            assertEquals(List.of(), s.toList());
        }
    }
}
