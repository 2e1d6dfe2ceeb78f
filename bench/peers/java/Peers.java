// The Java peers of bench/peers (README.md there): run as single-file programs,
//   java -cp "$(cat classpath.txt)" Peers.java consumer BOOTSTRAP TOPIC
//   java -cp "$(cat classpath.txt)" Peers.java streams BOOTSTRAP TOPIC APP_ID JDBC_URL TABLE
// consumer: the bare Java consumer ceiling (every partition from offset 0 to the end, no work).
// streams: Kafka Streams 3.9 on the simplified workload - OrderSigned records (recognised by
// their Avro single-object fingerprint, decoded by hand: no Avro library), de-duplicated by
// event_id (a KTable keeping the first value per id), summed per rep per org-local day, and
// upserted into PostgreSQL over JDBC (a batch of the changed rows once a second).

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.*;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;

public class Peers {
    // OrderSigned v1's CRC-64-AVRO fingerprint, as in the record header (schemas/avro).
    static final byte[] ORDER_SIGNED = HexFormat.of().parseHex("135613ce5307ff91");

    public static void main(String[] args) throws Exception {
        if (args[0].equals("consumer")) consumer(args[1], args[2]);
        else streams(args[1], args[2], args[3], args[4], args[5]);
    }

    static void consumer(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10000);
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 16 * 1024 * 1024);
        long started = System.nanoTime(), n = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo i : c.partitionsFor(topic)) tps.add(new TopicPartition(topic, i.partition()));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long total = end.values().stream().mapToLong(Long::longValue).sum();
            while (n < total) {
                ConsumerRecords<byte[], byte[]> got = c.poll(Duration.ofMillis(500));
                n += got.count();
            }
        }
        double s = (System.nanoTime() - started) / 1e9;
        System.out.printf("java consumer: %d records in %.2f s = %.0f records/s%n", n, s, n / s);
    }

    /** An OrderSigned's (rep|day, event id, amount), or null for any other record. */
    record Order(String eventId, String repDay, BigDecimal amount) {}

    static Order decode(byte[] v, ZoneId zone) {
        if (v == null || v.length < 10 || v[0] != (byte) 0xC3 || v[1] != 1) return null;
        if (!Arrays.equals(v, 2, 10, ORDER_SIGNED, 0, 8)) return null;
        Reader r = new Reader(v, 10);
        String eventId = r.string();
        long micros = r.varlong();
        r.varlong(); // occurred_at_offset_min: the day is taken in the org's zone
        String rep = r.varlong() == 1 ? r.string() : "";
        if (r.varlong() == 1) r.varlong(); // recorded_at
        if (r.varlong() == 1) r.string(); // source
        r.varlong(); // schema_version
        r.string(); // order_id
        if (r.varlong() == 1) r.string(); // opportunity_id
        r.string(); // account_id
        BigDecimal amount = new BigDecimal(new BigInteger(r.bytes()), 4);
        String currency = r.string();
        if (!currency.equals(System.getenv().getOrDefault("SALESPULSE_BASE_CURRENCY", "USD")))
            throw new IllegalStateException("this peer converts no currencies: " + currency);
        LocalDate day = Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L)).atZone(zone).toLocalDate();
        return new Order(eventId, rep + "|" + day, amount);
    }

    static final class Reader {
        final byte[] b;
        int i;

        Reader(byte[] b, int i) { this.b = b; this.i = i; }

        long varlong() {
            long raw = 0;
            int shift = 0;
            while (true) {
                int x = b[i++] & 0xff;
                raw |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) break;
                shift += 7;
            }
            return (raw >>> 1) ^ -(raw & 1); // zigzag
        }

        byte[] bytes() {
            int n = (int) varlong();
            byte[] out = Arrays.copyOfRange(b, i, i + n);
            i += n;
            return out;
        }

        String string() { return new String(bytes(), StandardCharsets.UTF_8); }
    }

    static void streams(String bootstrap, String topic, String appId, String jdbc, String table)
            throws Exception {
        ZoneId zone = ZoneId.of(System.getenv().getOrDefault("SALESPULSE_TZ", "UTC"));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 1000);
        p.put(StreamsConfig.STATE_DIR_CONFIG, System.getenv().getOrDefault("PEERS_STATE_DIR", "/tmp/kstreams-peers"));
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class); // the stores
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        StreamsBuilder b = new StreamsBuilder();
        // value: "repDay|amount" strings keep the serdes to the built-in ones
        b.stream(topic, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                .mapValues(v -> decode(v, zone))
                .filter((k, o) -> o != null)
                .map((k, o) -> KeyValue.pair(o.eventId(), o.repDay() + "|" + o.amount().toPlainString()))
                .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
                .reduce((first, repeat) -> first, Materialized.as("first-by-event-id")) // de-dup
                .groupBy((id, v) -> {
                    int cut = v.lastIndexOf('|');
                    return KeyValue.pair(v.substring(0, cut), v.substring(cut + 1));
                }, Grouped.with(Serdes.String(), Serdes.String()))
                .aggregate(() -> "0|0",
                        (key, amount, agg) -> add(agg, amount, 1),
                        (key, amount, agg) -> add(agg, amount, -1),
                        Materialized.as("totals-by-rep-day"))
                .toStream()
                .foreach(PENDING::put);
        KafkaStreams app = new KafkaStreams(b.build(), p);
        app.setUncaughtExceptionHandler(e -> { // slf4j-nop logs nothing: say why, and stop
            e.printStackTrace();
            return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler
                    .StreamThreadExceptionResponse.SHUTDOWN_APPLICATION;
        });
        app.setStateListener((now, before) -> {
            System.err.println("kafka streams: " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR) System.exit(1);
        });
        try (Connection conn = DriverManager.getConnection(jdbc)) {
            conn.setAutoCommit(false);
            conn.createStatement().execute("CREATE TABLE IF NOT EXISTS " + table
                    + " (rep_id text, day date, revenue numeric, orders bigint, PRIMARY KEY (rep_id, day))");
            conn.commit();
            app.start();
            Runtime.getRuntime().addShutdownHook(new Thread(app::close));
            while (true) { // the upsert writer: the rows changed since the last second
                Thread.sleep(1000);
                flush(conn, table);
            }
        }
    }

    static final Map<String, String> PENDING = new ConcurrentHashMap<>();

    static String add(String agg, String amount, int sign) {
        int cut = agg.indexOf('|');
        BigDecimal sum = new BigDecimal(agg.substring(0, cut)).add(new BigDecimal(amount).multiply(BigDecimal.valueOf(sign)));
        long n = Long.parseLong(agg.substring(cut + 1)) + sign;
        return sum.toPlainString() + "|" + n;
    }

    static void flush(Connection conn, String table) throws Exception {
        if (PENDING.isEmpty()) return;
        List<String> keys = new ArrayList<>(PENDING.keySet());
        try (PreparedStatement st = conn.prepareStatement("INSERT INTO " + table
                + " (rep_id, day, revenue, orders) VALUES (?, ?::date, ?::numeric, ?)"
                + " ON CONFLICT (rep_id, day) DO UPDATE SET revenue = EXCLUDED.revenue, orders = EXCLUDED.orders")) {
            for (String key : keys) {
                String v = PENDING.remove(key);
                if (v == null) continue;
                int k = key.lastIndexOf('|'), c = v.indexOf('|');
                st.setString(1, key.substring(0, k));
                st.setString(2, key.substring(k + 1));
                st.setString(3, v.substring(0, c));
                st.setLong(4, Long.parseLong(v.substring(c + 1)));
                st.addBatch();
            }
            st.executeBatch();
        }
        conn.commit();
    }
}
