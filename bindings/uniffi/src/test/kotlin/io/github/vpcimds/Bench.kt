@file:JvmName("Bench")

package io.github.vpcimds

import java.net.URI
import java.net.http.HttpClient
import java.time.Duration
import java.net.http.HttpRequest as JdkRequest
import java.net.http.HttpResponse as JdkResponse

/**
 * bench.sh runs this in fresh JVMs against one emulator: `first ours|raw BASE` times
 * the first call of a fresh JVM (ours: JNA loads the native library from the jar,
 * client, identity token, GET instance; raw: HttpClient, PUT token, GET instance);
 * `cached ours|raw|rawjson BASE N` times N GETs of the instance with the token cached
 * (ours: `instance()`; raw: one HttpClient sending the cached token; rawjson: raw and
 * Jackson's `readTree` of the body: the JVM floor), after 200 warm-ups (or the
 * fifth argument's number);
 * `split`: ours, the medians inside the transport's `send` and outside it (the native
 * side, JNA, uniffi); `transport`, `native`: each half alone; `firstsplit`: the steps
 * of a fresh JVM's first call; `nativeget`: `native` through `get("instance")`;
 * `stepped`: the stepper `Machine` driven from Kotlin (no callback), from memory;
 * `steppedhttp`: the same over our transport; `gap`: our transport with GAP_US µs of
 * work before each call (its `inside_send_us`: the exchange alone).
 * `iam ours|shared|sdk|raw BASE N`: token + IAM token on a new client (see below).
 * Prints one line of JSON.
 */
fun main(args: Array<String>) {
    val (mode, who, base) = args
    val n = args.getOrNull(3)?.toInt() ?: 1
    when (mode) {
        "first" -> {
            val t0 = System.nanoTime()
            val name = if (who == "ours") firstOurs(base) else Raw(base).instanceName()
            val ms = (System.nanoTime() - t0) / 1e6
            println("""{"mode":"first","who":"$who","ms":${"%.1f".format(ms)},"name":"$name"}""")
        }
        // Where a fresh JVM's first call goes (ms since start, each step after the last).
        "firstsplit" -> {
            val t0 = System.nanoTime()
            val phases = mutableListOf<String>()
            val mark = { name: String -> phases += "\"$name\":${"%.1f".format((System.nanoTime() - t0) / 1e6)}" }
            uniffiEnsureInitialized()
            mark("library_ms")
            val imds = imdsClient(ImdsSettings(endpoint = base), readEnv = false)
            mark("client_ms")
            imds.identityToken()
            mark("token_ms")
            imds.instance()
            mark("instance_ms")
            println("""{"mode":"firstsplit","who":"ours",${phases.joinToString(",")}}""")
        }
        "cached" -> {
            val call: () -> Unit = when (who) {
                "ours" -> {
                    val imds = imdsClient(ImdsSettings(endpoint = base), readEnv = false)
                    ({ imds.instance() })
                }
                // Ours, the time inside the transport's send measured apart (printed
                // to stderr: medians inside and outside, i.e. the native side and FFI).
                "split" -> {
                    val jt = JavaHttpTransport()
                    val timed = object : Transport {
                        override fun send(request: HttpRequest): HttpResponse {
                            val a = System.nanoTime()
                            try { return jt.send(request) } finally { inside += System.nanoTime() - a; sends++ }
                        }
                    }
                    val imds = ImdsClient(ImdsSettings(endpoint = base), timed, null);
                    { imds.instance() }
                }
                // The stepper Machine driven from Kotlin over our transport: ours without the
                // callback into Kotlin (what a Kotlin loop instead of the native one would give).
                "steppedhttp" -> {
                    val jt = JavaHttpTransport()
                    val m = Machine(ImdsSettings(endpoint = base), 7uL)
                    val t0 = System.nanoTime()
                    val now = { ((System.nanoTime() - t0) / 1_000_000).toULong() }
                    val run = {
                        val op = m.start("instance", emptyMap(), now())
                        var s = m.step(op, now(), StepInput.Tick)
                        while (s is MachineStep.Send) s = m.step(op, now(), StepInput.Response(jt.send(s.request)))
                        check(s is MachineStep.Done) { "not done: $s" }
                    }
                    run
                }
                // Our transport with some work between its calls (GAP_US of spinning, 40 by
                // default, about what the native side takes): `inside_send_us` is the
                // exchange alone, beside `transport`, whose calls come back to back.
                "gap" -> {
                    val jt = JavaHttpTransport()
                    val request = cachedGet(base)
                    val spinNs = (System.getenv("GAP_US") ?: "40").toLong() * 1000
                    val run = {
                        val end = System.nanoTime() + spinNs
                        while (System.nanoTime() < end) { }
                        val a = System.nanoTime()
                        try { check(jt.send(request).status.toInt() == 200) } finally { inside += System.nanoTime() - a; sends++ }
                    }
                    run
                }
                // Our Kotlin transport alone, no native code: where the time goes.
                "transport" -> {
                    val t = JavaHttpTransport()
                    val request = cachedGet(base);
                    { check(t.send(request).status.toInt() == 200) }
                }
                // The native side alone: a transport answering from memory.
                "native" -> {
                    val imds = ImdsClient(ImdsSettings(endpoint = base), Memory(base), null);
                    { imds.instance() }
                }
                // The same through get(): a Document (JSON text), no typed model to lift.
                "nativeget" -> {
                    val imds = ImdsClient(ImdsSettings(endpoint = base), Memory(base), null);
                    { imds.get("instance") }
                }
                // The machine stepped from Kotlin (no callback into Kotlin), answered
                // from memory: its done step's Document.
                "stepped" -> {
                    val memory = Memory(base)
                    val m = Machine(ImdsSettings(endpoint = base), 7uL)
                    val run = {
                        val op = m.start("instance", emptyMap(), 1uL)
                        var s = m.step(op, 1uL, StepInput.Tick)
                        while (s is MachineStep.Send) s = m.step(op, 1uL, StepInput.Response(memory.send(s.request)))
                        check(s is MachineStep.Done) { "not done: $s" }
                    }
                    run
                }
                // The JVM floor: raw HttpClient and a JSON parse (Jackson's tree, as json.loads
                // and JSON.parse are in the other hosts' floors).
                "rawjson" -> {
                    val raw = Raw(base);
                    { raw.instanceTree() }
                }
                else -> {
                    val raw = Raw(base);
                    { raw.instance() }
                }
            }
            val warmUps = args.getOrNull(4)?.toInt() ?: 200
            repeat(warmUps) { call() }
            val times = LongArray(n)
            val ins = LongArray(n)
            for (i in 0 until n) {
                val before = inside
                val t = System.nanoTime()
                call()
                times[i] = System.nanoTime() - t
                ins[i] = inside - before
            }
            val split = if (sends > 0) {
                val out = LongArray(n) { times[it] - ins[it] }
                out.sort()
                ins.sort()
                ""","inside_send_us":${"%.1f".format(ins[n / 2] / 1e3)},"outside_us":${"%.1f".format(out[n / 2] / 1e3)}"""
            } else {
                ""
            }
            times.sort()
            val median = times[n / 2] / 1e3
            val p99 = times[(n * 99) / 100] / 1e3
            val mean = times.average() / 1e3
            println(
                """{"mode":"cached","who":"$who","n":$n,"warm_ups":$warmUps,"median_us":${"%.1f".format(median)},""" +
                    """"p99_us":${"%.1f".format(p99)},"mean_us":${"%.1f".format(mean)}$split}""",
            )
        }
        // Token + IAM token on a new client, N times: ours (a new imdsClient(): default
        // clients share one HttpClient), shared (a new ImdsClient over a transport of our
        // own), sdk (IBM's VpcInstanceAuthenticator, new each time; its OkHttp client is
        // the SDK's singleton), raw (one HttpClient, the same two requests by hand).
        "iam" -> {
            val call: () -> Unit = when (who) {
                "ours" -> ({
                    imdsClient(ImdsSettings(endpoint = base), readEnv = false).use { check(it.iamToken().secret().isNotEmpty()) }
                })
                "shared" -> {
                    val t = JavaHttpTransport()
                    ({ ImdsClient(ImdsSettings(endpoint = base), t, null).use { check(it.iamToken().secret().isNotEmpty()) } })
                }
                "sdk" -> ({
                    val auth = com.ibm.cloud.sdk.core.security.VpcInstanceAuthenticator.Builder().url(base).build()
                    check(auth.requestToken().accessToken.isNotEmpty())
                })
                else -> {
                    val raw = Raw(base);
                    { raw.iamToken() }
                }
            }
            val warmUps = args.getOrNull(4)?.toInt() ?: 50
            repeat(warmUps) { call() }
            val times = LongArray(n) { System.nanoTime().let { t -> call(); System.nanoTime() - t } }
            times.sort()
            println(
                """{"mode":"iam","who":"$who","n":$n,"warm_ups":$warmUps,"median_us":${"%.1f".format(times[n / 2] / 1e3)}}""",
            )
        }
        else -> error("usage: first|firstsplit|cached|iam ours|raw|split|transport|native|nativeget|stepped|shared|sdk BASE [N [WARM_UPS]]")
    }
}

private var inside = 0L
private var sends = 0

private fun firstOurs(base: String): String {
    return imdsClient(ImdsSettings(endpoint = base), readEnv = false).instance().name ?: "?"
}

private val TOKEN = Regex("\"access_token\"\\s*:\\s*\"([^\"]+)\"")
private val NAME = Regex("\"name\"\\s*:\\s*\"(emu-vsi-1)\"")

/** A transport answering from memory: the token and the instance the emulator gave once. */
private class Memory(base: String) : Transport {
    private val raw = Raw(base)
    private val token = """{"access_token":"${raw.token}","expires_in":300}""".toByteArray()
    private val instance = raw.instance().toByteArray()

    override fun send(request: HttpRequest) = HttpResponse(200u, null, if (request.method == "PUT") token else instance)
}

private val MAPPER = com.fasterxml.jackson.databind.ObjectMapper()

/** The GET of the instance our transport is given, with a token from the emulator. */
private fun cachedGet(base: String) = HttpRequest(
    id = 1u, method = "GET", url = "$base/metadata/v1/instance?version=2025-08-26",
    target = "/metadata/v1/instance?version=2025-08-26",
    headers = listOf(HttpHeader("Authorization", "Bearer ${Raw(base).token}", true)),
    body = null, timeout = Duration.ofSeconds(5), connectTimeout = Duration.ofSeconds(1),
)

/** The reference: java.net.http alone, the same requests by hand. */
private class Raw(private val base: String) {
    private val http = HttpClient.newBuilder()
        .proxy(HttpClient.Builder.NO_PROXY)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1))
        .build()
    val token: String by lazy { newToken() }

    /** A new identity token. */
    fun newToken(): String {
        val req = JdkRequest.newBuilder(URI.create("$base/identity/v1/token?version=2025-08-26"))
            .header("Metadata-Flavor", "ibm")
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(5))
            .PUT(JdkRequest.BodyPublishers.ofString("""{"expires_in":300}"""))
            .build()
        val body = http.send(req, JdkResponse.BodyHandlers.ofString()).body()
        return TOKEN.find(body)?.groupValues?.get(1) ?: error("no token")
    }

    /** The instance document parsed (Jackson's tree). */
    fun instanceTree(): com.fasterxml.jackson.databind.JsonNode {
        val r = http.send(instanceRequest(), JdkResponse.BodyHandlers.ofByteArray())
        check(r.statusCode() == 200) { "status ${r.statusCode()}" }
        return MAPPER.readTree(r.body())
    }

    private fun instanceRequest() = JdkRequest.newBuilder(URI.create("$base/metadata/v1/instance?version=2025-08-26"))
        .header("Authorization", "Bearer $token")
        .timeout(Duration.ofSeconds(5))
        .GET()
        .build()

    fun instance(): String {
        val r = http.send(instanceRequest(), JdkResponse.BodyHandlers.ofString())
        check(r.statusCode() == 200) { "status ${r.statusCode()}" }
        return r.body()
    }

    /** A new identity token (not the cached one) exchanged for an IAM token. */
    fun iamToken(): String {
        val identity = newToken()
        val post = JdkRequest.newBuilder(URI.create("$base/identity/v1/iam_tokens?version=2025-08-26"))
            .header("Authorization", "Bearer $identity")
            .header("Metadata-Flavor", "ibm")
            .timeout(Duration.ofSeconds(5))
            .POST(JdkRequest.BodyPublishers.noBody())
            .build()
        val r = http.send(post, JdkResponse.BodyHandlers.ofString())
        check(r.statusCode() == 200) { "status ${r.statusCode()}" }
        return TOKEN.find(r.body())?.groupValues?.get(1) ?: error("no IAM token")
    }

    fun instanceName(): String = NAME.find(instance())?.groupValues?.get(1) ?: "?"
}
