package io.github.vpcimds

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.node.IntNode
import com.fasterxml.jackson.databind.node.NullNode
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Assertions.fail
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.TestFactory
import java.io.File
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger

/**
 * Every case of tests/vectors/ through the Kotlin binding's client machine
 * ([Machine]: generated Kotlin, JNA, uniffi scaffolding, the binding's
 * conversions) on the vectors' clock, with the machine semantics of
 * bindings/python/tests/test_vectors.py: the step returned after a "pending" answer
 * is the next vector step's; a failure ends the operation, so a poll_failed right
 * after a fed failure, and idle, meet a machine with no operation; the machine
 * leaves a request's deadline to the host's reads (it says Read where the driver
 * waits until the request deadline), so at the deadline the runner reports
 * response_timeout; in "a second start while busy is refused" the second start
 * runs a second operation; the machine mixes its seed before its first
 * operation's driver gets it, so the runner passes the seed that mixes into the
 * vector's. Raw responses are fed in chunkings 0 (all at once), 1 and 7 bytes,
 * then end of stream if the machine still says Read; `merge` cases run through
 * the page merger, `user_data` cases through [parts] and [isMultipart].
 */
class VectorsTest {
    companion object {
        private val mapper = ObjectMapper()
        private val dir = File(System.getProperty("vectors.dir") ?: "../../tests/vectors")
        private val sessions = AtomicInteger()
        private val merges = AtomicInteger()
        private val userData = AtomicInteger()

        @JvmStatic
        @AfterAll
        fun count() {
            println("vectors: ${sessions.get()} session, ${merges.get()} merge and ${userData.get()} user-data vectors passed through the Kotlin binding")
        }
    }

    @TestFactory
    fun vectors(): List<DynamicTest> {
        val files = dir.listFiles { f -> f.name.endsWith(".json") }?.sortedBy { it.name }
            ?: fail("no vectors in $dir")
        val tests = mutableListOf<DynamicTest>()
        for (file in files) {
            val doc = mapper.readTree(file)
            for (case in doc["cases"]) {
                val name = "${file.nameWithoutExtension}: ${case["name"].asText()}"
                tests += DynamicTest.dynamicTest(name) {
                    if (case.has("user_data")) {
                        runUserData(case)
                        userData.incrementAndGet()
                    } else if (case.has("merge")) {
                        runMerge(case)
                        merges.incrementAndGet()
                    } else {
                        val hasRaw = case["steps"].any { it.path("respond").has("raw") }
                        for (chunk in if (hasRaw) listOf(0, 1, 7) else listOf(0)) runCase(case, chunk)
                        sessions.incrementAndGet()
                    }
                }
            }
        }
        assertTrue(tests.size >= 105, "too few vectors: ${tests.size}")
        return tests
    }

    private fun settings(c: JsonNode): Pair<ImdsSettings, Long> {
        fun s(k: String) = c.get(k)?.asText()
        fun ms(k: String) = c.get(k)?.let { Duration.ofMillis(it.asLong()) }
        val settings = ImdsSettings(
            endpoint = s("endpoint"),
            version = s("version"),
            tokenLifetime = c.get("token_lifetime")?.asLong()?.toUInt(),
            timeout = ms("operation_timeout_ms"),
            requestTimeout = ms("request_timeout_ms"),
            maxAttempts = c.get("max_attempts")?.asLong()?.toUInt(),
            baseDelay = ms("base_delay_ms"),
            maxDelay = ms("max_delay_ms"),
            maxResponseBytes = (c.get("buffer")?.asLong() ?: 65536L).toULong(),
        )
        return settings to (c.get("seed")?.asLong() ?: 1L)
    }

    /** Every member of a vector's `start` but `op`, by name, as the vector gives it. */
    private fun args(op: JsonNode): Map<String, ArgValue> = op.properties().filter { it.key != "op" }.associate { (k, v) ->
        k to when {
            v.isNull -> ArgValue.Null
            v.isBoolean -> ArgValue.Bool(v.booleanValue())
            v.isIntegralNumber -> ArgValue.Int(v.longValue())
            v.isNumber -> ArgValue.Float(v.doubleValue())
            v.isTextual -> ArgValue.Text(v.textValue())
            else -> fail("$k: an argument is a JSON scalar, not $v")
        }
    }

    private fun lookup(v: JsonNode, path: String): JsonNode {
        val parts = path.split(".")
        var node = v
        for ((i, part) in parts.withIndex()) {
            if (part == "#" && i == parts.size - 1) {
                return if (node.isArray) IntNode(node.size()) else NullNode.instance
            }
            node = when {
                node.isArray -> part.toIntOrNull()?.let { node.get(it) } ?: return NullNode.instance
                node.isObject -> node.get(part) ?: return NullNode.instance
                else -> return NullNode.instance
            }
        }
        return node
    }

    private fun checkOutput(ctx: String, doc: Document, expected: JsonNode) {
        assertEquals(expected["type"].asText(), doc.typeName, "$ctx: output type")
        val actual = mapper.readTree(doc.json)
        expected.get("json")?.let { assertEquals(it, actual, "$ctx: raw document") }
        expected.get("fields")?.properties()?.forEach { (path, want) ->
            val got = lookup(actual, path)
            if (want.isNumber && got.isNumber) {
                assertEquals(want.decimalValue().stripTrailingZeros(), got.decimalValue().stripTrailingZeros(), "$ctx: field $path")
            } else {
                assertEquals(want, got, "$ctx: field $path")
            }
        }
        assertFalse(doc.toString().contains("eyJ"), "$ctx: Document.toString leaks a token")
    }

    private fun checkError(ctx: String, e: ImdsException, expected: JsonNode) {
        assertEquals(expected["kind"].asText(), e.kind, "$ctx: kind (${e.message})")
        assertFalse((e.message ?: "").contains("eyJ"), "$ctx: error text leaks a token")
        val f = e.details
        expected.get("status")?.let { assertEquals(it.asInt(), f.status?.toInt(), "$ctx: status") }
        for ((key, got) in listOf("code" to f.code, "trace" to f.trace, "message" to f.apiMessage)) {
            val want = expected.get(key)?.asText() ?: continue
            // An empty string means "absent" (None/null).
            assertEquals(want.ifEmpty { null }, got, "$ctx: $key")
        }
        expected.get("cause")?.let { assertEquals(it.asText(), f.reason, "$ctx: cause") }
    }

    private fun checkEvent(ctx: String, got: MachineStep, expected: JsonNode) {
        when {
            expected.isTextual && expected.asText() == "pending" ->
                assertTrue(got is MachineStep.Send || got is MachineStep.Backoff, "$ctx: expected pending, got $got")
            expected.has("page") ->
                checkOutput(ctx, (got as? MachineStep.Page ?: fail("$ctx: expected page, got $got")).document, expected["page"])
            expected.has("done") ->
                checkOutput(ctx, (got as? MachineStep.Done ?: fail("$ctx: expected done, got $got")).document, expected["done"])
            expected.has("failed") ->
                checkError(ctx, (got as? MachineStep.Failed ?: fail("$ctx: expected failure, got $got")).error, expected["failed"])
            else -> fail("$ctx: expected $expected, got $got")
        }
    }

    private fun checkSend(ctx: String, send: MachineStep.Send, want: JsonNode) {
        val req = send.request
        want.get("method")?.let { assertEquals(it.asText(), req.method, "$ctx: method") }
        want.get("target")?.let { assertEquals(it.asText(), req.target, "$ctx: target") }
        want.get("headers")?.let { h ->
            val list = mapper.createArrayNode()
            for (header in req.headers) list.add(mapper.createArrayNode().add(header.name).add(header.value))
            assertEquals(h, list, "$ctx: headers")
        }
        want.get("body")?.let { b ->
            assertEquals(if (b.isNull) null else b.asText(), req.body, "$ctx: body")
        }
        want.get("raw")?.let { raw -> assertEquals(raw.asText(), String(send.wire, Charsets.UTF_8), "$ctx: raw") }
        assertTrue(req.url.endsWith(req.target), "$ctx: url")
        assertFalse(req.toString().contains("eyJ"), "$ctx: HttpRequest.toString leaks the token")
    }

    private fun body(resp: JsonNode): ByteArray = when {
        resp.has("body") -> resp["body"].asText().toByteArray(Charsets.UTF_8)
        resp.has("body_file") -> File(dir, resp["body_file"].asText()).readBytes()
        else -> ByteArray(0)
    }

    private fun feedRaw(m: Machine, op: ULong, raw: ByteArray, chunk: Int, now: ULong): MachineStep {
        val size = if (chunk == 0) maxOf(raw.size, 1) else chunk
        var offset = 0
        while (offset < raw.size) {
            val end = minOf(offset + size, raw.size)
            val step = m.step(op, now, StepInput.Bytes(raw.copyOfRange(offset, end)))
            offset = end
            if (step !is MachineStep.Read) return step
        }
        val step = m.step(op, now, StepInput.Bytes(ByteArray(0)))
        if (step is MachineStep.Read) fail<Unit>("the reader wants more after end of stream")
        return step
    }

    /** The machine seed whose SplitMix64 step is [mixed] (the driver's jitter seed). */
    private fun unmix(mixed: ULong): ULong {
        fun inverse(x: ULong): ULong = (1..6).fold(x) { y, _ -> y * (2uL - x * y) }
        fun unshift(v: ULong, n: Int): ULong = (0..64 / n).fold(v) { x, _ -> v xor (x shr n) }
        var z = unshift(mixed, 31)
        z = unshift(z * inverse(0x94D049BB133111EBuL), 27)
        z = unshift(z * inverse(0xBF58476D1CE4E5B9uL), 30)
        return z - 0x9E3779B97F4A7C15uL
    }

    private fun runCase(case: JsonNode, chunk: Int) {
        val name = case["name"].asText()
        val (settings, seed) = settings(case["config"])
        val m = Machine(settings, unmix(seed.toULong()))
        var op = 0uL
        var pending: MachineStep? = null
        var justFailed = false
        var deadline = 0uL // of the request in flight
        // The step after any connection closes (a socket host's matter).
        fun settle(first: MachineStep, now: ULong): MachineStep {
            var step = first
            while (step is MachineStep.Close) step = m.step(op, now, StepInput.Tick)
            return step
        }
        for ((i, step) in case["steps"].withIndex()) {
            val ctx = "$name [chunk $chunk] step $i"
            val now = step.path("at").asLong(0).toULong()
            fun sent(got: MachineStep) = got.also { if (it is MachineStep.Send) deadline = now + it.request.timeout.toMillis().toULong() }
            fun outcome(): MachineStep {
                var got = pending?.also { pending = null } ?: settle(m.step(op, now, StepInput.Tick), now)
                if (got is MachineStep.Read && now >= deadline) { // the host's read timer
                    got = settle(m.step(op, now, StepInput.Failed(TransportException.ResponseTimeout("vector"))), now)
                }
                return sent(got)
            }
            val start = step.get("start")
            if (start != null) {
                justFailed = false
                val want = step.get("error")
                if (name == "a second start while busy is refused" && m.operations() > 0uL) {
                    assertTrue(m.start(start["op"].asText(), args(start), now) != op, "$ctx: a second operation runs")
                    continue
                }
                try {
                    op = m.start(start["op"].asText(), args(start), now)
                    if (want != null) fail<Unit>("$ctx: start succeeded, expected $want")
                } catch (e: ImdsException) {
                    if (want == null) fail<Unit>("$ctx: start failed: ${e.message}")
                    checkError(ctx, e, want)
                }
                continue
            }
            val failedBefore = justFailed
            justFailed = false
            when {
                step.has("send") -> when (val got = outcome()) {
                    is MachineStep.Send -> checkSend(ctx, got, step["send"])
                    else -> fail("$ctx: expected send, got $got")
                }
                step.has("wait") -> when (val got = outcome()) {
                    // The answer is awaited until the request deadline.
                    is MachineStep.Read -> assertEquals(step["wait"].asLong().toULong(), deadline, "$ctx: the request deadline")
                    is MachineStep.Backoff -> assertEquals(step["wait"].asLong().toULong(), got.untilMs, "$ctx: wait until")
                    else -> fail("$ctx: expected wait, got $got")
                }
                step.has("poll_failed") -> if (!(failedBefore && m.operations() == 0uL)) {
                    when (val got = outcome()) {
                        is MachineStep.Failed -> checkError(ctx, got.error, step["poll_failed"])
                        else -> fail("$ctx: expected failure, got $got")
                    }
                }
                step.has("idle") -> assertTrue(pending == null && m.operations() == 0uL, "$ctx: expected idle")
                step.has("respond") || step.has("transport_error") -> {
                    val resp = step.path("respond")
                    val got = sent(settle(when {
                        step.has("transport_error") -> m.step(op, now, StepInput.Failed(transportError(step["transport_error"].asText())))
                        resp.has("raw") -> feedRaw(m, op, resp["raw"].asText().toByteArray(Charsets.UTF_8), chunk, now)
                        else -> m.step(op, now, StepInput.Response(HttpResponse(resp["status"].asInt().toUShort(), resp.get("retry_after")?.asText(), body(resp))))
                    }, now))
                    checkEvent(ctx, got, step["expect"])
                    justFailed = got is MachineStep.Failed
                    if (step["expect"].asText() == "pending") pending = got
                }
                else -> fail("$ctx: unknown step $step")
            }
        }
        m.close()
    }

    private fun transportError(name: String): TransportException = when (name) {
        "refused" -> TransportException.Refused("vector")
        "unreachable" -> TransportException.Unreachable("vector")
        "connect_timeout" -> TransportException.ConnectTimeout("vector")
        "response_timeout" -> TransportException.ResponseTimeout("vector")
        "connection_lost" -> TransportException.ConnectionLost("vector")
        "tls" -> TransportException.Tls("vector")
        else -> fail("unknown transport error $name")
    }

    private fun runUserData(case: JsonNode) {
        val name = case["name"].asText()
        val data = java.util.Base64.getDecoder().decode(case["user_data"].asText())
        val expect = case["expect"]
        assertEquals(expect["multipart"].asBoolean(), data.isMultipart(), "$name: isMultipart")
        if (expect.has("error")) {
            val e = runCatching { data.parts() }.exceptionOrNull() as? ImdsException ?: fail("$name: no ImdsException")
            assertEquals("bad_response", e.kind, name)
            assertEquals(expect["error"].asText(), e.details.text, name)
            return
        }
        val got = data.parts().map {
            mapper.createObjectNode()
                .put("content_type", it.contentType).put("filename", it.filename).put("charset", it.charset)
                .put("payload", java.util.Base64.getEncoder().encodeToString(it.payload))
        }
        assertEquals(expect["parts"], mapper.valueToTree(got), name)
    }

    private fun runMerge(case: JsonNode) {
        val name = case["name"].asText()
        val pages = case["merge"].map { it.asText() }
        val expect = case["expect"]
        if (expect.isTextual) {
            assertEquals(expect.asText(), mergePages(pages), name)
        } else {
            assertEquals("bad_response", expect["error"].asText(), "$name: expectation")
            val e = runCatching { mergePages(pages) }.exceptionOrNull()
            assertNotNull(e, "$name: merged a bad page")
            assertEquals("bad_response", (e as ImdsException).kind, name)
        }
    }
}
