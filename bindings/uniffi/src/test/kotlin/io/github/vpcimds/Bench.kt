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
 * `cached ours|raw BASE N` times N GETs of the instance with the token cached (ours:
 * `instance()`; raw: one HttpClient sending the cached token), after 200 warm-ups (or
 * the fifth argument's number);
 * `split`: ours, the medians inside the transport's `send` and outside it (the native
 * side, JNA, uniffi); `transport`, `native`: each half alone; `firstsplit`: the steps
 * of a fresh JVM's first call. Prints one line of JSON.
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
                // Our Kotlin transport alone, no native code: where the time goes.
                "transport" -> {
                    val t = JavaHttpTransport()
                    val request = HttpRequest(
                        id = 1u, method = "GET", url = "$base/metadata/v1/instance?version=2025-08-26",
                        target = "/metadata/v1/instance?version=2025-08-26",
                        headers = listOf(HttpHeader("Authorization", "Bearer ${Raw(base).token}", true)),
                        body = null, timeout = Duration.ofSeconds(5), connectTimeout = Duration.ofSeconds(1),
                    );
                    { check(t.send(request).status.toInt() == 200) }
                }
                // The native side alone: a transport answering from memory.
                "native" -> {
                    val raw = Raw(base)
                    val token = """{"access_token":"${raw.token}","expires_in":300}""".toByteArray()
                    val instance = raw.instance().toByteArray()
                    val fake = object : Transport {
                        override fun send(request: HttpRequest) =
                            HttpResponse(200u, null, if (request.method == "PUT") token else instance)
                    }
                    val imds = ImdsClient(ImdsSettings(endpoint = base), fake, null);
                    { imds.instance() }
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
        else -> error("usage: first|firstsplit|cached ours|raw|split|transport|native BASE [N]")
    }
}

private var inside = 0L
private var sends = 0

private fun firstOurs(base: String): String {
    return imdsClient(ImdsSettings(endpoint = base), readEnv = false).instance().name ?: "?"
}

private val NAME = Regex("\"name\"\\s*:\\s*\"(emu-vsi-1)\"")

/** The reference: java.net.http alone, the same requests by hand. */
private class Raw(private val base: String) {
    private val http = HttpClient.newBuilder()
        .proxy(HttpClient.Builder.NO_PROXY)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1))
        .build()
    val token: String by lazy {
        val req = JdkRequest.newBuilder(URI.create("$base/identity/v1/token?version=2025-08-26"))
            .header("Metadata-Flavor", "ibm")
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(5))
            .PUT(JdkRequest.BodyPublishers.ofString("""{"expires_in":300}"""))
            .build()
        val body = http.send(req, JdkResponse.BodyHandlers.ofString()).body()
        Regex("\"access_token\"\\s*:\\s*\"([^\"]+)\"").find(body)?.groupValues?.get(1) ?: error("no token")
    }

    fun instance(): String {
        val req = JdkRequest.newBuilder(URI.create("$base/metadata/v1/instance?version=2025-08-26"))
            .header("Authorization", "Bearer $token")
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build()
        val r = http.send(req, JdkResponse.BodyHandlers.ofString())
        check(r.statusCode() == 200) { "status ${r.statusCode()}" }
        return r.body()
    }

    fun instanceName(): String = NAME.find(instance())?.groupValues?.get(1) ?: "?"
}
