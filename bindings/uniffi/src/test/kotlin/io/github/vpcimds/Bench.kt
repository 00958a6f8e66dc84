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
 * `instance()`; raw: one HttpClient sending the cached token), after 200 warm-ups.
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
        "cached" -> {
            val call: () -> Unit = when (who) {
                "ours" -> {
                    val imds = imdsClient(ImdsSettings(endpoint = base), readEnv = false)
                    ({ imds.instance() })
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
            repeat(200) { call() }
            val times = LongArray(n)
            for (i in 0 until n) {
                val t = System.nanoTime()
                call()
                times[i] = System.nanoTime() - t
            }
            times.sort()
            val median = times[n / 2] / 1e3
            val p99 = times[(n * 99) / 100] / 1e3
            val mean = times.average() / 1e3
            println(
                """{"mode":"cached","who":"$who","n":$n,"median_us":${"%.1f".format(median)},""" +
                    """"p99_us":${"%.1f".format(p99)},"mean_us":${"%.1f".format(mean)}}""",
            )
        }
        else -> error("usage: first|cached ours|raw BASE [N]")
    }
}

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
