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
 * Every case of tests/vectors/ through the Kotlin binding ([StepDriver]: generated
 * Kotlin, JNA, uniffi scaffolding, the binding's conversions), with the driver's
 * semantics (driver/tests/vectors.rs): after a fed response or transport error
 * expected "pending", the step returned answers the next send/wait/poll_failed
 * step; a poll_failed right after a fed failure is satisfied by Idle; raw responses
 * are fed in chunkings 0 (all at once), 1 and 7 bytes, then end of stream if the
 * driver still says Read; `merge` cases run through the page merger.
 */
class VectorsTest {
    companion object {
        private val mapper = ObjectMapper()
        private val dir = File(System.getProperty("vectors.dir") ?: "../../tests/vectors")
        private val sessions = AtomicInteger()
        private val merges = AtomicInteger()

        @JvmStatic
        @AfterAll
        fun count() {
            println("vectors: ${sessions.get()} session vectors and ${merges.get()} merge vectors passed through the Kotlin binding")
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
                    if (case.has("merge")) {
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

    private fun args(op: JsonNode) = OperationArgs(
        id = op.get("id")?.asText(),
        expiresIn = op.get("expires_in")?.asLong()?.toUInt(),
        profileId = op.get("profile_id")?.asText(),
        profileCrn = op.get("profile_crn")?.asText(),
        profileName = op.get("profile_name")?.asText(),
        csr = op.get("csr")?.asText(),
        path = op.get("path")?.asText(),
        allPages = op.get("all_pages")?.asBoolean() ?: false,
    )

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

    private fun checkEvent(ctx: String, got: DriverStep, expected: JsonNode) {
        when {
            expected.isTextual && expected.asText() == "pending" ->
                assertTrue(got is DriverStep.Send || got is DriverStep.Wait, "$ctx: expected pending, got $got")
            expected.has("page") ->
                checkOutput(ctx, (got as? DriverStep.Page ?: fail("$ctx: expected page, got $got")).document, expected["page"])
            expected.has("done") ->
                checkOutput(ctx, (got as? DriverStep.Done ?: fail("$ctx: expected done, got $got")).document, expected["done"])
            expected.has("failed") ->
                checkError(ctx, (got as? DriverStep.Failed ?: fail("$ctx: expected failure, got $got")).error, expected["failed"])
            else -> fail("$ctx: expected $expected, got $got")
        }
    }

    private fun checkSend(ctx: String, driver: StepDriver, req: HttpRequest, want: JsonNode) {
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
        want.get("raw")?.let { raw ->
            val wire = driver.wire() ?: fail("$ctx: no request in flight")
            assertEquals(raw.asText(), String(wire, Charsets.UTF_8), "$ctx: raw")
        }
        assertTrue(req.url.endsWith(req.target), "$ctx: url")
        assertFalse(req.toString().contains("eyJ"), "$ctx: HttpRequest.toString leaks the token")
    }

    private fun body(resp: JsonNode): ByteArray = when {
        resp.has("body") -> resp["body"].asText().toByteArray(Charsets.UTF_8)
        resp.has("body_file") -> File(dir, resp["body_file"].asText()).readBytes()
        else -> ByteArray(0)
    }

    private fun feedRaw(driver: StepDriver, raw: ByteArray, chunk: Int, now: ULong): DriverStep {
        val id = driver.awaiting() ?: fail("a request is awaited")
        val size = if (chunk == 0) maxOf(raw.size, 1) else chunk
        var offset = 0
        while (offset < raw.size) {
            val end = minOf(offset + size, raw.size)
            val step = driver.feed(now, id, raw.copyOfRange(offset, end))
            offset = end
            if (step !is DriverStep.Read) return step
        }
        val step = driver.feed(now, id, ByteArray(0))
        if (step is DriverStep.Read) fail<Unit>("the reader wants more after end of stream")
        return step
    }

    private fun runCase(case: JsonNode, chunk: Int) {
        val name = case["name"].asText()
        val (settings, seed) = settings(case["config"])
        val driver = StepDriver(settings, seed.toULong())
        var next: DriverStep? = null
        var justFailed = false
        for ((i, step) in case["steps"].withIndex()) {
            val ctx = "$name [chunk $chunk] step $i"
            val now = step.path("at").asLong(0).toULong()
            fun outcome(): DriverStep = next?.also { next = null } ?: driver.tick(now)
            val op = step.get("start")
            if (op != null) {
                val want = step.get("error")
                try {
                    driver.start(op["op"].asText(), args(op), now)
                    if (want != null) fail<Unit>("$ctx: start succeeded, expected $want")
                } catch (e: ImdsException) {
                    if (want == null) fail<Unit>("$ctx: start failed: ${e.message}")
                    checkError(ctx, e, want)
                }
                justFailed = false
                continue
            }
            val failedBefore = justFailed
            justFailed = false
            when {
                step.has("send") -> when (val got = outcome()) {
                    is DriverStep.Send -> checkSend(ctx, driver, got.request, step["send"])
                    else -> fail("$ctx: expected send, got $got")
                }
                step.has("wait") -> when (val got = outcome()) {
                    is DriverStep.Wait -> assertEquals(step["wait"].asLong().toULong(), got.untilMs, "$ctx: wait until")
                    else -> fail("$ctx: expected wait, got $got")
                }
                step.has("poll_failed") -> when (val got = outcome()) {
                    is DriverStep.Failed -> checkError(ctx, got.error, step["poll_failed"])
                    is DriverStep.Idle -> if (!failedBefore) fail<Unit>("$ctx: expected failure, got idle")
                    else -> fail("$ctx: expected failure, got $got")
                }
                step.has("idle") -> {
                    val got = outcome()
                    assertTrue(got is DriverStep.Idle, "$ctx: expected idle, got $got")
                }
                step.has("respond") -> {
                    val resp = step["respond"]
                    val got = if (resp.has("raw")) {
                        feedRaw(driver, resp["raw"].asText().toByteArray(Charsets.UTF_8), chunk, now)
                    } else {
                        val id = driver.awaiting() ?: fail("$ctx: a request is awaited")
                        driver.respond(
                            now, id,
                            HttpResponse(
                                status = resp["status"].asInt().toUShort(),
                                retryAfter = resp.get("retry_after")?.asText(),
                                body = body(resp),
                            ),
                        )
                    }
                    checkEvent(ctx, got, step["expect"])
                    justFailed = got is DriverStep.Failed
                    if (step["expect"].asText() == "pending") next = got
                }
                step.has("transport_error") -> {
                    val id = driver.awaiting() ?: fail("$ctx: a request is awaited")
                    val got = driver.fail(now, id, transportError(step["transport_error"].asText()))
                    checkEvent(ctx, got, step["expect"])
                    justFailed = got is DriverStep.Failed
                    if (step["expect"].asText() == "pending") next = got
                }
                else -> fail("$ctx: unknown step $step")
            }
        }
        driver.close()
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
