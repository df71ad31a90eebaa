// Prints the Java Kafka client's murmur2 hash and default-partitioner choice for keys read
// from stdin (one hex-encoded key per line), as:
// hex<TAB>murmur2<TAB>p(1)<TAB>p(3)<TAB>p(8)<TAB>p(12)<TAB>p(100).
// Run with the fetched jars on the classpath (single-file source launch); libs/topics uses it
// to check its key placement against the real client.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;

public class KeyPartitions {
    public static void main(String[] args) throws Exception {
        int[] counts = {1, 3, 8, 12, 100};
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            line = line.trim();
            byte[] key = new byte[line.length() / 2];
            for (int i = 0; i < key.length; i++) {
                key[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
            }
            out.append(line).append('\t').append(Utils.murmur2(key));
            for (int n : counts) {
                out.append('\t').append(BuiltInPartitioner.partitionForKey(key, n));
            }
            out.append('\n');
        }
        System.out.print(out);
    }
}
