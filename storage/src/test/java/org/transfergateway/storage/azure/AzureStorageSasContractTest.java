package org.transfergateway.storage.azure;

import java.time.OffsetDateTime;
import org.transfergateway.config.AzureBackendConfig;

/**
 * The storage contract on an Azure backend configured with {@code sas-token} instead of the
 * account key: an account SAS of Azurite's development account, generated here with the
 * SDK, authorises every request, the Copy Blob of a rename included (its source URL
 * carries the SAS).
 */
class AzureStorageSasContractTest extends AzureStorageContractTest {
    private static String sas;

    @Override
    AzureBackendConfig backend(String container, String prefix) {
        if (sas == null) {
            sas = azurite.accountSas(OffsetDateTime.now().plusHours(2));
        }
        return azurite.sasBackend("contract-sas", container, prefix, sas);
    }
}
