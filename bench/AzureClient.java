// The bench's direct Azure client: the Azure SDK for Java (the one in the gateway's jar),
// uploading straight to Azurite as an application would, and the checks the bench makes
// of what a container holds. Compiled once by bench.py against the gateway's jar. Upload
// commands print the seconds of the upload itself, without the JVM's start-up, so the
// peer is timed as the SDK performs, not as a new JVM starts.
//
//   AzureClient ENDPOINT ACCOUNT KEY CONTAINER mkcontainer
//   AzureClient ENDPOINT ACCOUNT KEY CONTAINER put FILE BLOB
//   AzureClient ENDPOINT ACCOUNT KEY CONTAINER putmany CONCURRENCY PREFIX FILE...
//   AzureClient ENDPOINT ACCOUNT KEY CONTAINER sizes PREFIX         (blob<TAB>size per line)
//   AzureClient ENDPOINT ACCOUNT KEY CONTAINER delete PREFIX
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.azure.storage.blob.models.ParallelTransferOptions;
import com.azure.storage.common.StorageSharedKeyCredential;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public final class AzureClient {
    public static void main(String[] a) throws Exception {
        BlobContainerClient c = new BlobServiceClientBuilder()
                .endpoint(a[0])
                .credential(new StorageSharedKeyCredential(a[1], a[2]))
                .httpClient(new JdkHttpClientBuilder().build())
                .buildClient()
                .getBlobContainerClient(a[3]);
        // The SDK's own defaults for a large upload: 4 MiB blocks (8 for bigger files), 8 at once.
        ParallelTransferOptions parallel = new ParallelTransferOptions().setBlockSizeLong(8L << 20).setMaxConcurrency(8);
        switch (a[4]) {
            case "mkcontainer" -> c.createIfNotExists();
            case "put" -> {
                long t0 = System.nanoTime();
                c.getBlobClient(a[6]).uploadFromFile(a[5], parallel, null, null, null, null, null);
                System.out.printf("%.4f%n", (System.nanoTime() - t0) / 1e9);
            }
            case "putmany" -> {
                int n = Integer.parseInt(a[5]);
                String prefix = a[6];
                ExecutorService pool = Executors.newFixedThreadPool(n);
                long t0 = System.nanoTime();
                List<Future<?>> all = new ArrayList<>();
                for (int i = 7; i < a.length; i++) {
                    String file = a[i];
                    String blob = prefix + Path.of(file).getFileName();
                    all.add(pool.submit(() -> {
                        c.getBlobClient(blob).uploadFromFile(file, parallel, null, null, null, null, null);
                        return null;
                    }));
                }
                for (Future<?> f : all) {
                    f.get();
                }
                System.out.printf("%.4f%n", (System.nanoTime() - t0) / 1e9);
                pool.shutdown();
            }
            case "sizes" -> {
                for (BlobItem b : c.listBlobs(new ListBlobsOptions().setPrefix(a[5]), null)) {
                    System.out.println(b.getName() + "\t" + b.getProperties().getContentLength());
                }
            }
            case "delete" -> {
                for (BlobItem b : c.listBlobs(new ListBlobsOptions().setPrefix(a[5]), null)) {
                    c.getBlobClient(b.getName()).delete();
                }
            }
            default -> throw new IllegalArgumentException("unknown command " + a[4]);
        }
    }
}
