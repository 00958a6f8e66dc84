package io.github.vpcimds

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.node.ObjectNode
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assumptions.assumeTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import java.io.File
import java.net.InetAddress
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.time.Duration
import java.util.Base64
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.Future
import kotlin.concurrent.thread
import java.net.http.HttpRequest as JdkRequest
import java.net.http.HttpResponse as JdkResponse

/**
 * The cross-host scenarios (tests/scenarios/scenarios.json, schema in its README)
 * through the public Kotlin API, each against its own emulator process on 127.0.0.1,
 * every scenario twice: blocking calls and `suspend` calls.
 *
 * Every scenario must give the table's normalized outcome, except those in [KNOWN]:
 * where this host differs today, the outcome must still differ (a strict expected
 * failure), so the entry has to go when the host is fixed.
 */
class ScenariosTest {
    companion object {
        const val HOST = "kotlin"

        /** Scenarios where this host differs today: name -> reason. */
        val KNOWN = mapOf<String, String>()

        /** Scenarios run at the same time (they mostly sleep; each has its own emulator). */
        const val PARALLEL = 4

        private val mapper = ObjectMapper()
        private val table = File(System.getProperty("vectors.dir") ?: "../../tests/vectors", "../scenarios/scenarios.json")
        private val bin = System.getProperty("emulator.bin") ?: "../../target/debug/vpc-imds-emulator"
        private val http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build()
        private val report = ConcurrentHashMap<String, String>()

        @JvmStatic
        @AfterAll
        fun summary() {
            report.toSortedMap().values.forEach(::println)
            val counts = report.values.groupingBy { it.substringBefore(' ') }.eachCount()
            println("scenarios (kotlin): ${report.size} run: $counts")
        }
    }

    private class SetupError(message: String) : Exception(message)

    /** What a call failed with: the record every host gives identically. */
    private class Failed(val record: Map<String, Any?>) : Exception()

    /** The error record as the table states one: its message only as far as the
     * table's `message_prefix`, when it has one. */
    private fun asStated(got: JsonNode?, want: JsonNode): JsonNode? {
        if (got !is ObjectNode) return got
        val out = got.deepCopy()
        val message = out.remove("message")?.asText().orEmpty()
        val prefix = want.path("message_prefix").textValue()
        if (prefix != null) out.put("message_prefix", if (message.startsWith(prefix)) prefix else message)
        return out
    }

    @TestFactory
    fun scenarios(): List<DynamicTest> {
        val scenarios = mapper.readTree(table)["scenarios"].toList()
        val names = scenarios.map { it["name"].asText() }
        assertEquals(names.size, names.toSet().size, "scenario names are unique")
        assertTrue(names.containsAll(KNOWN.keys), "KNOWN names unknown scenarios: ${KNOWN.keys - names.toSet()}")
        val pool = Executors.newFixedThreadPool(PARALLEL)
        val runs = scenarios.flatMap { s -> listOf(false, true).map { suspend -> Triple(s, suspend, pool.submit<List<String>> { outcome(s, suspend) }) } }
        pool.shutdown()
        return runs.map { (s, suspend, diffs) -> DynamicTest.dynamicTest("${s["name"].asText()} [${if (suspend) "suspend" else "blocking"}]") { check(s, suspend, diffs) } }
    }

    private fun check(scenario: JsonNode, suspend: Boolean, outcome: Future<List<String>>) {
        val name = scenario["name"].asText()
        val label = "$name [${if (suspend) "suspend" else "blocking"}]"
        val whyNot = scenario.path("not_applicable").path(HOST).textValue()
        if (whyNot != null) {
            report[label] = "n/a   $label: $whyNot"
            assumeTrue(false, "not applicable to $HOST: $whyNot")
        }
        val diffs = outcome.get()
        val known = KNOWN[name]
        report[label] = when {
            known != null && diffs.isNotEmpty() -> "known $label: $known [differs: ${diffs.joinToString("; ")}]"
            known != null -> "FAIL  $label: listed in KNOWN but now passes: remove the entry"
            diffs.isEmpty() -> "pass  $label"
            else -> "FAIL  $label: ${diffs.joinToString("; ")}"
        }
        if (known != null) {
            assertTrue(diffs.isNotEmpty(), "$name is listed in KNOWN ($known) but now passes: remove the entry")
        } else {
            assertEquals(emptyList<String>(), diffs)
        }
    }

    /** Sets the scenario up, runs it, and lists how the outcome differs from the table. */
    private fun outcome(scenario: JsonNode, suspend: Boolean): List<String> {
        if (scenario.path("not_applicable").has(HOST)) return emptyList()
        val setup = scenario.path("emulator")
        val emu = try {
            start(setup)
        } catch (e: Exception) {
            return listOf("setup failed: ${e.message}")
        }
        try {
            for (c in setup.path("control")) control(emu, c)
            val imds = client(emu, scenario.path("client"))
            val started = System.nanoTime()
            val got: Map<String, Any?> = try {
                val call = scenario["call"]
                if (call.isArray) {
                    mapOf("value" to call.mapNotNull { step -> if (step.has("control")) { control(emu, step["control"]); null } else listOf(call(imds, step, suspend)) }.map { it[0] })
                } else {
                    mapOf("value" to call(imds, call, suspend))
                }
            } catch (f: Failed) {
                mapOf("error" to f.record)
            }
            val elapsed = (System.nanoTime() - started) / 1_000_000
            imds.close()
            val expect = scenario["expect"]
            val diffs = mutableListOf<String>()
            val gotJson = mapper.valueToTree<JsonNode>(got)
            if (expect.has("value")) {
                if (!gotJson.has("value") || !matches(expect["value"], gotJson["value"])) diffs += "expected value ${expect["value"]}, got $gotJson"
            } else if (expect["error"] != asStated(gotJson["error"], expect["error"])) {
                diffs += "expected error ${expect["error"]}, got $gotJson"
            }
            val limits = expect.path("elapsed_ms")
            if (elapsed < limits.path("min").asLong(0) || elapsed > limits.path("max").asLong(Long.MAX_VALUE)) {
                diffs += "took $elapsed ms, expected $limits"
            }
            if (expect.has("requests")) subset("requests", expect["requests"], control(emu, mapper.readTree("""{"method":"GET","path":"/counters"}""")), diffs)
            return diffs
        } catch (e: SetupError) {
            return listOf("setup failed: ${e.message}")
        } finally {
            emu.close()
        }
    }

    private fun start(setup: JsonNode): Emulator {
        val args = mutableListOf("--workers", "1")
        if (setup.has("fixture")) {
            val file = File.createTempFile("vpc-imds-fixture", ".json").apply { deleteOnExit() }
            file.writeText(patchedFixture(setup["fixture"]))
            args += listOf("--fixture", file.path)
        }
        if (setup.has("head_timeout_ms")) args += listOf("--head-timeout-ms", setup["head_timeout_ms"].asText())
        return try {
            Emulator(*args.toTypedArray())
        } catch (e: IllegalStateException) {
            throw SetupError("the emulator did not start with ${args.joinToString(" ")} (${e.message})")
        }
    }

    /** The built-in fixture with the patches applied (`value` sets a JSON value, `raw` puts JSON text in place). */
    private fun patchedFixture(patches: JsonNode): String {
        val fixture = mapper.readTree(ProcessBuilder(bin, "--print-fixture").start().inputStream.readBytes())
        val raws = mutableListOf<String>()
        for (patch in patches) {
            val value = if (patch.has("raw")) {
                raws += patch["raw"].asText()
                mapper.valueToTree<JsonNode>("@@raw${raws.size - 1}@@")
            } else {
                patch["value"]
            }
            val path = patch["path"].toList()
            var place = fixture
            for (step in path.dropLast(1)) place = if (step.isInt) place[step.asInt()] else place[step.asText()]
            val last = path.last()
            if (last.isInt) (place as com.fasterxml.jackson.databind.node.ArrayNode).set(last.asInt(), value) else (place as ObjectNode).set<JsonNode>(last.asText(), value)
        }
        var text = mapper.writeValueAsString(fixture)
        raws.forEachIndexed { i, raw -> text = text.replace("\"@@raw$i@@\"", raw) }
        return text
    }

    /** A control API call; a status of 300 or more is a set-up failure. */
    private fun control(emu: Emulator, call: JsonNode): JsonNode {
        val body = call.get("body")?.let { JdkRequest.BodyPublishers.ofString(it.toString()) } ?: JdkRequest.BodyPublishers.noBody()
        val req = JdkRequest.newBuilder(URI.create(emu.control + call["path"].asText())).method(call["method"].asText(), body).build()
        val r = http.send(req, JdkResponse.BodyHandlers.ofString())
        if (r.statusCode() >= 300) throw SetupError("control ${call["method"].asText()} ${call["path"].asText()}: ${r.statusCode()} ${r.body()}")
        return mapper.readTree(r.body())
    }

    /** The length of a metadata document's body as the emulator serves it. */
    private fun bodyLen(emu: Emulator, path: String): Int {
        val q = "?version=2025-08-26"
        val put = JdkRequest.newBuilder(URI.create("${emu.base}/identity/v1/token$q")).header("Metadata-Flavor", "ibm")
            .PUT(JdkRequest.BodyPublishers.noBody()).build()
        val token = mapper.readTree(http.send(put, JdkResponse.BodyHandlers.ofString()).body())["access_token"].asText()
        val get = JdkRequest.newBuilder(URI.create(emu.base + path + q)).header("Authorization", "Bearer $token").build()
        val n = http.send(get, JdkResponse.BodyHandlers.ofByteArray()).body().size
        emu.call("POST", "/reset")
        return n
    }

    private fun client(emu: Emulator, c: JsonNode): ImdsClient {
        val endpoint = when (c.path("endpoint").textValue()) {
            null -> emu.base
            "refused" -> "http://127.0.0.1:${ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }}"
            "tls_to_plain" -> emu.base.replaceFirst("http://", "https://") // the emulator does not speak TLS
            else -> throw SetupError("unknown endpoint ${c["endpoint"]}")
        }
        fun ms(key: String) = c.get(key)?.let { Duration.ofMillis(it.asLong()) }
        val limit = c.get("max_response_bytes")
        return imdsClient(
            ImdsSettings(
                endpoint = endpoint,
                timeout = ms("timeout_ms"),
                requestTimeout = ms("request_timeout_ms"),
                connectTimeout = ms("connect_timeout_ms"),
                maxAttempts = c.get("max_attempts")?.asInt()?.toUInt(),
                maxResponseBytes = when {
                    limit == null -> null
                    limit.isObject -> (bodyLen(emu, limit["body_of"].asText()) + limit.path("plus").asInt(0)).toULong()
                    else -> limit.asLong().toULong()
                },
                version = c.get("version")?.asText(),
                tokenLifetime = c.get("token_lifetime")?.asInt()?.toUInt(),
            ),
            readEnv = false,
        )
    }

    /** One call (or `concurrent` identical ones: half on threads, half in coroutines), normalized. */
    private fun call(imds: ImdsClient, step: JsonNode, suspend: Boolean): Any? {
        step.get("pause_ms")?.let { Thread.sleep(it.asLong()) }
        val n = step.path("concurrent").asInt(1)
        if (n == 1) return runBlocking { one(imds, step, suspend) }
        val go = CountDownLatch(1)
        val gate = CompletableDeferred<Unit>()
        val results = arrayOfNulls<Result<Any?>>(n)
        val threads = (0 until n step 2).map { i -> thread { go.await(); results[i] = runCatching { runBlocking { one(imds, step, false) } } } }
        runBlocking(Dispatchers.Default) {
            val calls = (1 until n step 2).map { i -> async { gate.await(); i to runCatching { one(imds, step, true) } } }
            go.countDown()
            gate.complete(Unit)
            calls.awaitAll().forEach { (i, r) -> results[i] = r }
        }
        threads.forEach { it.join() }
        results.firstNotNullOfOrNull { it?.exceptionOrNull() }?.let { throw it }
        val values = results.map { it?.getOrNull() }
        return if (values.all { it == values[0] }) values[0] else mapOf("concurrent results differ" to values)
    }

    private suspend fun one(imds: ImdsClient, step: JsonNode, suspend: Boolean): Any? = try {
        normalized(imds, step, suspend)
    } catch (e: ImdsException) {
        val d = e.details
        throw Failed(mapOf("kind" to e.kind, "status" to d.status?.toInt(), "code" to d.code?.ifEmpty { null }, "cause" to d.reason, "message" to d.text))
    }

    /** The call through the blocking methods, or the `suspend` ones. */
    private suspend fun normalized(imds: ImdsClient, step: JsonNode, suspend: Boolean): Any? {
        suspend fun <T> go(blocking: () -> T, suspending: suspend () -> T): T = if (suspend) suspending() else blocking()
        fun id(id: String) = mapOf("id" to id)
        fun count(items: List<Any>) = mapOf("count" to items.size)
        val id = step.get("id_utf16")?.let { units -> String(CharArray(units.size()) { units[it].asInt().toChar() }) } ?: step.path("id").asText("")
        val path = step.path("path").asText("")
        val (pid, crn, pname) = listOf("profile_id", "profile_crn", "profile_name").map { step.get(it)?.asText() }
        return when (val op = step["op"].asText()) {
            "instance" -> id(go({ imds.instance() }, { imds.instanceAsync() }).id)
            "initialization" -> go({ imds.initialization() }, { imds.initializationAsync() }).let {
                mapOf("keys" to it.keys.size, "default_trusted_profile" to it.defaultTrustedProfile?.target?.id)
            }
            "identity_token" -> {
                val expiresIn = step.get("expires_in")?.asInt()?.toUInt()
                val nonce = step.get("nonce")?.asText()
                token(go({ imds.identityToken(expiresIn, nonce) }, { imds.identityTokenAsync(expiresIn, nonce) }), nonce != null)
            }
            "iam_token" -> token(go({ imds.iamToken(pid, crn, pname) }, { imds.iamTokenAsync(pid, crn, pname) }), false)
            "key" -> id(go({ imds.key(id) }, { imds.keyAsync(id) }).id)
            "network_interface" -> id(go({ imds.networkInterface(id) }, { imds.networkInterfaceAsync(id) }).id)
            "volume_attachment" -> id(go({ imds.volumeAttachment(id) }, { imds.volumeAttachmentAsync(id) }).id)
            "placement_group" -> id(go({ imds.placementGroup(id) }, { imds.placementGroupAsync(id) }).id)
            "network_interfaces" -> mapOf("count" to go({ imds.networkInterfaces() }, { imds.networkInterfacesAsync() }).size)
            "volume_attachments" -> mapOf("count" to go({ imds.volumeAttachments() }, { imds.volumeAttachmentsAsync() }).size)
            "keys" -> count(if (suspend) imds.keys().asFlow().toList() else imds.keys().asSequence().toList())
            "placement_groups" -> count(if (suspend) imds.placementGroups().asFlow().toList() else imds.placementGroups().asSequence().toList())
            "ssh_keys" -> go({ imds.sshKeys() }, { imds.sshKeysAsync() })
            "user_data" -> mapOf("base64" to Base64.getEncoder().encodeToString(go({ imds.userData() }, { imds.userDataAsync() })))
            "get" -> document(go({ imds.get(path) }, { imds.getAsync(path) }).json)
            "get_all" -> document(go({ imds.getAll(path) }, { imds.getAllAsync(path) }))
            "wait_until_ready" -> {
                val max = step.get("max_ms")?.let { Duration.ofMillis(it.asLong()) }
                if (max != null) go({ imds.waitUntilReady(max) }, { imds.waitUntilReadyAsync(max) }) else go({ imds.waitUntilReady() }, { imds.waitUntilReadyAsync() })
                null
            }
            else -> mapOf("unsupported op" to op)
        }
    }

    /** A token as its lifetime and, when a nonce was sent, its echo and the JWT's `nonce` claim. */
    private fun token(t: AccessToken, nonce: Boolean): Map<String, Any?> {
        val lifetime = mapOf("expires_in" to t.expiresIn()?.toInt())
        if (!nonce) return lifetime
        val payload = t.secret().split('.').getOrNull(1)
        val claims = payload?.let { runCatching { mapper.readTree(Base64.getUrlDecoder().decode(it)) }.getOrNull() }
        return lifetime + mapOf("nonce" to t.nonce(), "nonce_claim" to claims?.get("nonce")?.textValue())
    }

    /** A JSON document as its top-level lists' lengths and whether it links a next page. */
    private fun document(text: String): Map<String, Any> {
        val doc = runCatching { mapper.readTree(text) }.getOrNull()
        if (doc == null || !doc.isObject) return mapOf("not a JSON object" to text)
        return doc.properties().filter { it.value.isArray }.associate { it.key to it.value.size() as Any } + ("next" to doc.has("next"))
    }

    /** Every member of [want] has its value in [got] (a missing counter is 0). */
    private fun subset(at: String, want: JsonNode, got: JsonNode?, diffs: MutableList<String>) {
        for ((key, value) in want.properties()) {
            val have = got?.get(key)
            if (value.isObject) {
                subset("$at.$key", value, have, diffs)
            } else if ((have?.asLong() ?: 0L) != value.asLong()) {
                diffs += "$at.$key: expected $value, got ${have ?: 0}"
            }
        }
    }

    /** Equal, except that `{"min": a, "max": b}` matches any number in that range. */
    private fun matches(want: JsonNode, got: JsonNode): Boolean {
        val names = want.fieldNames().asSequence().toList()
        return when {
            want.isObject && names.isNotEmpty() && names.all { it == "min" || it == "max" } ->
                got.isNumber && (!want.has("min") || got.asDouble() >= want["min"].asDouble()) && (!want.has("max") || got.asDouble() <= want["max"].asDouble())
            want.isObject -> got.isObject && got.size() == want.size() && names.all { got.has(it) && matches(want[it], got[it]) }
            want.isArray -> got.isArray && got.size() == want.size() && (0 until want.size()).all { matches(want[it], got[it]) }
            want.isNumber && got.isNumber -> want.decimalValue().compareTo(got.decimalValue()) == 0
            else -> want == got
        }
    }
}
