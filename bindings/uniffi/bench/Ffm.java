// The C ABI's client machine driven from Java through the FFM API (JDK 22+), answered
// from memory: what a cached call's crossings cost without JNA and uniffi. The
// counterpart of Bench.kt's `stepped` row (the uniffi Machine stepped from Kotlin), for
// bench.sh's `ffm` rows; not part of the package (which keeps its JDK 17 baseline).
//
//   java --enable-native-access=ALL-UNNAMED bench/Ffm.java LIB BASE OP N WARM_UPS
//
// LIB: libvpc_imds_c.so; BASE: the emulator (asked once for a token and the instance,
// which then answer every call from memory); OP: `instance` or `get` (path `instance`).
// Each call: start, a tick (the SEND step: its request bytes copied out, as a host
// sending them would), the response, the DONE step's document as a Java String.
// Prints one JSON line: the median, p99 and mean per call in microseconds, and the
// milliseconds from loading the library to a machine (`load_ms`).

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

public class Ffm {
    static final int SEND = 1, DONE = 7, TICK = 0, RESPONSE = 4;

    final MethodHandle start, step, output;
    final MemorySegment m;
    final MemorySegment len;
    final Arena arena = Arena.ofConfined();

    Ffm(String lib, String base) throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup syms = SymbolLookup.libraryLookup(Path.of(lib), Arena.global());
        // critical(true): the call takes Java arrays in place (no copy to native
        // memory); the machine's calls neither block nor call back.
        Linker.Option inPlace = Linker.Option.critical(true);
        MethodHandle create = linker.downcallHandle(syms.find("vpc_imds_new").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), inPlace);
        start = linker.downcallHandle(syms.find("vpc_imds_start").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG), inPlace);
        step = linker.downcallHandle(syms.find("vpc_imds_step").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), inPlace);
        output = linker.downcallHandle(syms.find("vpc_imds_output").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS), Linker.Option.critical(false));
        byte[] settings = ("{\"endpoint\":\"" + base + "\"}").getBytes(StandardCharsets.UTF_8);
        m = (MemorySegment) create.invokeExact(MemorySegment.ofArray(settings), (long) settings.length, 7L,
            MemorySegment.NULL, 0L, MemorySegment.NULL);
        if (m.equals(MemorySegment.NULL)) throw new IllegalStateException("vpc_imds_new refused the settings");
        len = arena.allocate(JAVA_LONG);
    }

    /** The last call's output, copied. */
    byte[] output() throws Throwable {
        MemorySegment p = (MemorySegment) output.invokeExact(m, len);
        long n = len.get(JAVA_LONG, 0);
        return p.reinterpret(n).toArray(JAVA_BYTE);
    }

    /** One call of `op` (`name`, `args` as the ABI takes them), answered by `answer`. */
    String call(byte[] name, byte[] args, Answer answer) throws Throwable {
        long op = (long) start.invokeExact(m, MemorySegment.ofArray(name), (long) name.length,
            MemorySegment.ofArray(args), (long) args.length, 1L);
        if (op < 0) throw new IllegalStateException(new String(output(), StandardCharsets.UTF_8));
        int kind = (int) step.invokeExact(m, op, 1L, TICK, MemorySegment.NULL, 0L);
        while (kind == SEND) {
            byte[] request = output();
            byte[] response = answer.to(request);
            kind = (int) step.invokeExact(m, op, 1L, RESPONSE, MemorySegment.ofArray(response), (long) response.length);
        }
        if (kind != DONE) throw new IllegalStateException("step " + kind + ": " + new String(output(), StandardCharsets.UTF_8));
        byte[] record = output();
        int skip = 1 + (record[0] & 0xff);
        return new String(record, skip, record.length - skip, StandardCharsets.UTF_8);
    }

    /** The emulator's token and instance, kept; each request answered with one of them. */
    record Answer(byte[] token, byte[] instance) {
        static Answer from(String base) throws Exception {
            HttpClient http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).version(HttpClient.Version.HTTP_1_1).build();
            String v = "?version=2025-08-26";
            String tokenBody = http.send(HttpRequest.newBuilder(URI.create(base + "/identity/v1/token" + v))
                .header("Metadata-Flavor", "ibm").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"expires_in\":300}")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
            Matcher t = Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"").matcher(tokenBody);
            if (!t.find()) throw new IllegalStateException("no token");
            String instance = http.send(HttpRequest.newBuilder(URI.create(base + "/metadata/v1/instance" + v))
                .header("Authorization", "Bearer " + t.group(1)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
            String token = "{\"access_token\":\"" + t.group(1) + "\",\"expires_in\":300}";
            return new Answer(framed(token), framed(instance));
        }

        /** A 200 response as the ABI's RESPONSE input: the 8-byte header (no header values), then the body. */
        static byte[] framed(String body) {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            byte[] out = new byte[8 + b.length];
            out[0] = (byte) 200;
            System.arraycopy(b, 0, out, 8, b.length);
            return out;
        }

        byte[] to(byte[] sendRecord) {
            // The request line starts after the 32-byte SEND header: PUT is the token's.
            return sendRecord[32] == 'P' ? token : instance;
        }
    }

    public static void main(String[] args) throws Throwable {
        String lib = args[0], base = args[1], which = args[2];
        int n = Integer.parseInt(args[3]), warmUps = Integer.parseInt(args[4]);
        long loading = System.nanoTime();
        Ffm ffm = new Ffm(lib, base);
        double loadMs = (System.nanoTime() - loading) / 1e6;
        Answer answer = Answer.from(base);
        byte[] name = (which.equals("get") ? "get" : "instance").getBytes(StandardCharsets.UTF_8);
        byte[] opArgs = (which.equals("get") ? "{\"path\":\"instance\"}" : "").getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < warmUps; i++) ffm.call(name, opArgs, answer);
        if (!ffm.call(name, opArgs, answer).contains("\"emu-vsi-1\"")) throw new IllegalStateException("not the instance");
        long[] times = new long[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            ffm.call(name, opArgs, answer);
            times[i] = System.nanoTime() - t;
        }
        Arrays.sort(times);
        double mean = Arrays.stream(times).average().orElse(0) / 1e3;
        System.out.printf("{\"mode\":\"cached\",\"who\":\"ffm-%s\",\"n\":%d,\"warm_ups\":%d,\"median_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f,\"load_ms\":%.1f}%n",
            which, n, warmUps, times[n / 2] / 1e3, times[(n * 99) / 100] / 1e3, mean, loadMs);
    }
}
