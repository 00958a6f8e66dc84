package io.github.vpcimds

import com.fasterxml.jackson.databind.JsonNode
import com.fasterxml.jackson.databind.ObjectMapper
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import java.io.File
import java.net.ServerSocket
import java.net.URI
import java.net.http.HttpClient
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.net.http.HttpRequest as JdkRequest
import java.net.http.HttpResponse as JdkResponse

/** A `vpc-imds-emulator` process on 127.0.0.1 (never anything else). */
class Emulator(vararg flags: String) : AutoCloseable {
    private val process: Process
    val base: String
    val control: String
    private val http = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).build()

    init {
        val bin = System.getProperty("emulator.bin") ?: "../../target/debug/vpc-imds-emulator"
        check(File(bin).canExecute()) { "emulator binary not found at $bin (cargo build -p vpc-imds-emulator)" }
        process = ProcessBuilder(listOf(bin) + flags).redirectErrorStream(true).start()
        val out = process.inputStream.bufferedReader()
        base = out.readLine()?.removePrefix("listening on ") ?: error("the emulator did not start")
        control = out.readLine()?.removePrefix("control on ") ?: error("the emulator did not start")
        check(base.startsWith("http://127.0.0.1:")) { "unexpected address $base" }
        // Drain its output (it logs nothing a test reads); ends when the process does.
        Thread { runCatching { out.useLines { lines -> lines.forEach { _ -> } } } }.apply { isDaemon = true }.start()
    }

    fun call(method: String, path: String, body: String? = null): JsonNode {
        val req = JdkRequest.newBuilder(URI.create(control + path))
            .method(method, body?.let { JdkRequest.BodyPublishers.ofString(it) } ?: JdkRequest.BodyPublishers.noBody())
            .build()
        return ObjectMapper().readTree(http.send(req, JdkResponse.BodyHandlers.ofString()).body())
    }

    fun counters(): JsonNode = call("GET", "/counters")

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmulatorTest {
    private lateinit var emu: Emulator
    private val mapper = ObjectMapper()

    @BeforeAll
    fun start() {
        emu = Emulator()
    }

    @AfterAll
    fun stop() {
        emu.close()
    }

    @BeforeEach
    fun reset() {
        emu.call("POST", "/reset")
    }

    private fun client(settings: ImdsSettings = ImdsSettings()) =
        imdsClient(settings.copy(endpoint = settings.endpoint ?: emu.base), readEnv = false)

    @Test
    fun identityToken() {
        val token = client().identityToken(60u)
        assertTrue(token.secret().startsWith("eyJ"), "a JWT")
        assertEquals(60u, token.expiresIn())
        assertFalse(token.toString().contains(token.secret()), "toString redacts: $token")
        assertEquals(1, emu.counters()["token_creations"].asInt())
    }

    @Test
    fun identityTokenNonce() {
        val imds = client()
        for ((nonce, token) in listOf(
            "n-1f2e3d" to imds.identityToken(60u, "n-1f2e3d"),
            "~!visible_ASCII?" to runBlocking { imds.identityTokenAsync(nonce = "~!visible_ASCII?") },
        )) {
            assertEquals(nonce, token.nonce(), "echoed in the response")
            val payload = token.secret().split('.')[1]
            val claims = mapper.readTree(java.util.Base64.getUrlDecoder().decode(payload))
            assertEquals(nonce, claims["nonce"].asText(), "the JWT's nonce claim")
            assertFalse(token.toString().contains(token.secret()), "toString redacts: $token")
        }
        assertEquals(null, imds.identityToken().nonce(), "no nonce asked, none echoed")
        assertEquals(3, emu.counters()["token_creations"].asInt())
    }

    @Test
    fun badNonceIsInvalidInputAndSendsNothing() {
        val imds = client()
        for (bad in listOf("n".repeat(257), "a\u0001b", "", "a b", "caf\u00e9")) {
            val blocking = assertThrows(ImdsException::class.java) { imds.identityToken(nonce = bad) }
            assertTrue(blocking is ImdsException.InvalidInput, "${bad.length} chars: ${blocking.message}")
            assertEquals("input", blocking.details.reason)
            val suspending = assertThrows(ImdsException::class.java) { runBlocking { imds.identityTokenAsync(60u, bad) } }
            assertTrue(suspending is ImdsException.InvalidInput, "${bad.length} chars (suspend): ${suspending.message}")
        }
        assertEquals("n".repeat(256), imds.identityToken(nonce = "n".repeat(256)).nonce(), "256 is the longest")
        assertEquals(1, emu.counters()["requests"].asInt(), "only the good nonce was sent")
    }

    @Test
    fun listsAreLists() {
        val imds = client()
        val instance = imds.instance()
        assertEquals(instance.networkInterfaces.map { it.id }, imds.networkInterfaces().map { it.id })
        assertEquals(instance.volumeAttachments.map { it.id }, runBlocking { imds.volumeAttachmentsAsync() }.map { it.id })
        assertTrue(imds.networkInterfaces().all { it.resourceType == "network_interface" })
    }

    @Test
    fun typedResults() {
        val imds = client()
        val fixture = mapper.readTree(File(System.getProperty("vectors.dir"), "../../emulator/fixtures/default.json"))
        val instance = imds.instance()
        assertEquals(fixture["instance"]["id"].asText(), instance.id)
        assertEquals("emu-vsi-1", instance.name)
        assertEquals("bx2-2x8", instance.profile?.name)
        assertEquals("standard", instance.availability?.className, "`class` is className")
        assertEquals(8L, instance.memory)
        assertEquals(instance, runBlocking { imds.instanceAsync() }, "a data class: equal by value")
        val nic = instance.networkInterfaces.first()
        assertEquals(nic.id, imds.networkInterface(nic.id).id)
        val va = instance.volumeAttachments.first()
        assertEquals(va.id, runBlocking { imds.volumeAttachmentAsync(va.id) }.id)
        val keyIds = fixture["keys"].map { it["id"].asText() }
        assertEquals(keyIds, imds.keys().asSequence().map { it.id }.toList())
        assertEquals(keyIds, runBlocking { imds.keys().asFlow().toList() }.map { it.id })
        val key = imds.key(keyIds[0])
        assertEquals(keyIds[0], key.id)
        assertTrue(key.publicKey.startsWith("ssh-"), key.publicKey)
        val init = imds.initialization()
        assertEquals(keyIds.toSet(), init.keys.map { it.id }.toSet())
        val groups = imds.placementGroups().asSequence().toList()
        assertEquals(fixture["placement_groups"].map { it["id"].asText() }, groups.map { it.id })
        if (groups.isNotEmpty()) assertEquals(groups[0], imds.placementGroup(groups[0].id))
        // Fields not modelled: the document as received, through the generic GET.
        val raw = mapper.readTree(imds.get("instance").json)
        assertEquals(instance.id, raw["id"].asText())
        assertEquals("raw", imds.get("instance").typeName)
    }

    @Test
    fun documentToStringShowsSizeOnly() {
        val doc = client().get("instance")
        assertTrue(mapper.readTree(doc.json).has("name"))
        assertFalse(doc.toString().contains("emu-vsi-1"), "toString shows type and size only: $doc")
    }

    @Test
    fun paginatedKeys() {
        val imds = client()
        val pages = imds.getPages("keys?limit=1").asSequence().toList()
        assertEquals(3, pages.size, "one key per page")
        val names = pages.map { mapper.readTree(it.json)["keys"][0]["name"].asText() }
        val merged = mapper.readTree(imds.getAll("keys?limit=1"))
        assertEquals(names, merged["keys"].map { it["name"].asText() })
        assertFalse(merged.has("next"), "merged document has no next")
        val keyPages = imds.keys()
        assertEquals(3, generateSequence { keyPages.next() }.sumOf { it.size })
        assertEquals(names, imds.keys().asSequence().map { it.name }.toList())
        val lines = imds.sshKeys()
        assertEquals(3, lines.size)
        assertTrue(lines.all { it.startsWith("ssh-") && !it.contains('\n') }, "$lines")
    }

    @Test
    fun userDataBytes() {
        val bytes = client().userData()
        val fixture = mapper.readTree(File(System.getProperty("vectors.dir"), "../../emulator/fixtures/default.json"))
        assertArrayEquals(fixture["initialization"]["user_data"].asText().toByteArray(Charsets.UTF_8), bytes)
        val parts = bytes.parts()
        assertTrue(bytes.isMultipart())
        assertTrue(parts.isNotEmpty(), "multipart")
        assertTrue(parts.any { it.contentType == "text/cloud-config" && it.text.contains("Grüße, 世界") }, "non-ASCII text survives: $parts")
        assertFalse(bytes.isGzip())
        val gz = java.io.ByteArrayOutputStream().also { out -> java.util.zip.GZIPOutputStream(out).use { it.write(bytes) } }.toByteArray()
        assertTrue(gz.isGzip())
        assertArrayEquals(bytes, gz.gunzipIfNeeded())
        // (a data class holding a ByteArray compares it by reference: compare the text)
        assertEquals(parts.map { it.contentType to it.text }, gz.parts().map { it.contentType to it.text }, "gzip user data splits the same")
        assertEquals("bad_response", assertThrows(ImdsException::class.java) { gz.copyOf(gz.size - 4).gunzipIfNeeded() }.kind)
        assertEquals(listOf<String?>(null), "plain text".toByteArray().parts().map { it.contentType })
    }

    @Test
    fun iamTokenIsCached() {
        val imds = client()
        val first = imds.iamToken()
        val second = imds.iamToken()
        assertTrue(first.secret().startsWith("eyJ"))
        assertEquals(first.secret(), second.secret(), "served from the IAM token cache")
        val byName = imds.iamToken(profileName = "emu-cos-reader")
        assertTrue(byName.secret().startsWith("eyJ"))
        assertFalse(byName.secret() == first.secret(), "one cache per profile")
        assertEquals(byName.secret(), imds.iamToken(profileName = "emu-cos-reader").secret())
        val counters = emu.counters()
        assertEquals(1, counters["token_creations"].asInt(), "one identity token for all")
        assertEquals(2, counters["iam_token_exchanges"].asInt(), "one exchange per profile: $counters")
        val e = assertThrows(ImdsException::class.java) { imds.iamToken(profileName = "emu-unlinked-profile") }
        assertEquals("rejected", e.kind, e.message)
    }

    @Test
    fun unauthorizedRefreshesOnce() {
        val imds = client()
        imds.instance()
        emu.call("POST", "/tokens/expire")
        assertEquals("instance", imds.instance().resourceType)
        val counters = emu.counters()
        assertEquals(2, counters["token_creations"].asInt(), "exactly one refresh")
        assertEquals(1, counters["unauthenticated"].asInt(), "one 401")
    }

    @Test
    fun serviceUnavailableIsRetried() {
        val imds = client(ImdsSettings(baseDelay = Duration.ofMillis(10), maxDelay = Duration.ofMillis(50)))
        // On the GET, not the token PUT a new client sends first.
        emu.call("POST", "/faults/fail", """{"status":503,"count":2,"route_prefix":"/metadata/"}""")
        assertEquals("instance", imds.instance().resourceType)
        assertEquals(2, emu.counters()["faults_injected"].asInt())
        assertEquals(3, emu.counters()["by_route"]["GET /metadata/v1/instance"].asInt(), "2 refused GETs, 1 answered")
        emu.call("POST", "/faults/fail", """{"status":503}""")
        val e = assertThrows(ImdsException::class.java) { imds.instance() }
        assertEquals("server_error", e.kind)
        assertEquals(503, e.details.status?.toInt())
        emu.call("DELETE", "/faults")
    }

    @Test
    fun blackHoleMeetsTheDeadline() {
        Emulator("--black-hole").use { hole ->
            val imds = imdsClient(ImdsSettings(endpoint = hole.base, timeout = Duration.ofMillis(700)), readEnv = false)
            val started = System.nanoTime()
            val e = assertThrows(ImdsException::class.java) { imds.instance() }
            val ms = (System.nanoTime() - started) / 1_000_000
            assertEquals("timed_out", e.kind, e.message)
            assertTrue(ms in 600..2500, "gave up after $ms ms (deadline 700 ms)")
            val started2 = System.nanoTime()
            val e2 = assertThrows(ImdsException::class.java) { runBlocking { imds.instanceAsync() } }
            assertEquals("timed_out", e2.kind, e2.message)
            assertTrue((System.nanoTime() - started2) / 1_000_000 < 2500, "suspend call meets the deadline too")
        }
    }

    @Test
    fun pagesAfterACancelledPageAreAnErrorNotTheEnd() {
        val imds = client()
        val pages = imds.getPages("keys?limit=1")
        assertTrue(runBlocking { pages.nextAsync() } != null, "the first page")
        emu.call("POST", "/faults/black_hole", """{"count":1}""")
        assertThrows(TimeoutCancellationException::class.java) {
            runBlocking { withTimeout(300) { pages.nextAsync() } }
        }
        // Two pages are still to come: the list must not look complete.
        val e = assertThrows(ImdsException.InvalidInput::class.java) { runBlocking { pages.nextAsync() } }
        assertTrue(e.message!!.contains("abandoned"), e.message)
        assertEquals(null, pages.next(), "ended after saying so")
    }

    @Test
    fun pagesAfterAFailedPageAreAnErrorNotTheEnd() {
        val imds = client(ImdsSettings(maxAttempts = 1u))
        val pages = imds.getPages("keys?limit=1")
        assertTrue(pages.next() != null, "the first page")
        emu.call("POST", "/faults/fail", """{"status":503,"count":1,"route_prefix":"/metadata/"}""")
        assertThrows(ImdsException.ServerException::class.java) { pages.next() }
        // Two pages were still to come: a second try on the same pages must not look
        // like the whole list.
        val e = assertThrows(ImdsException.InvalidInput::class.java) { pages.next() }
        assertTrue(e.message!!.contains("incomplete"), e.message)
    }

    @Test
    fun anAuthenticatorPrintsAfterItsClientIsClosed() {
        val facade = ImdsFacade.builder().endpoint(emu.base).readEnv(false).build()
        val auth = VpcImdsAuthenticator(facade)
        facade.close()
        assertTrue(auth.toString().contains(emu.base), auth.toString())
    }

    @Test
    fun cancellingACoroutineEndsTheCall() {
        val imds = client()
        emu.call("POST", "/faults/black_hole", """{"count":1}""")
        val started = System.nanoTime()
        assertThrows(TimeoutCancellationException::class.java) {
            runBlocking { withTimeout(300) { imds.instanceAsync() } }
        }
        assertTrue((System.nanoTime() - started) / 1_000_000 < 2000, "cancelled promptly")
        // The cancelled call held the token refresh: dropping it released the lease,
        // so the next call fetches a token at once instead of waiting out the deadline.
        val again = System.nanoTime()
        assertEquals("instance", imds.instance().resourceType)
        assertTrue((System.nanoTime() - again) / 1_000_000 < 2000, "the next call did not wait for the lease")
    }

    @Test
    fun invalidInputSendsNothing() {
        val imds = client()
        for (bad in listOf("bad/id", "x\r\nX-Injected: 1", "")) {
            val e = assertThrows(ImdsException::class.java) { imds.key(bad) }
            assertEquals("invalid_input", e.kind, e.message)
        }
        assertEquals("invalid_input", assertThrows(ImdsException::class.java) { imds.iamToken(profileId = "a", profileName = "b") }.kind)
        assertEquals("invalid_input", assertThrows(ImdsException::class.java) { imds.identityToken(4u) }.kind)
        assertEquals(0, emu.counters()["requests"].asInt(), "nothing was sent")
        for (settings in listOf(
            ImdsSettings(maxAttempts = 0u),
            ImdsSettings(endpoint = "ftp://127.0.0.1"),
            ImdsSettings(timeout = Duration.ZERO),
            ImdsSettings(version = "2025-13-01"),
        )) {
            val e = assertThrows(ImdsException::class.java) { imdsClient(settings, readEnv = false) }
            assertEquals("invalid_input", e.kind, e.message)
        }
    }

    @Test
    fun loneSurrogateIsInvalidInputAndSendsNothing() {
        val imds = client()
        val calls: List<Pair<String, (String) -> Any?>> = listOf(
            "key" to { s -> imds.key(s) },
            "networkInterface" to { s -> imds.networkInterface(s) },
            "volumeAttachment" to { s -> imds.volumeAttachment(s) },
            "placementGroup" to { s -> imds.placementGroup(s) },
            "get" to { s -> imds.get(s) },
            "getAll" to { s -> imds.getAll(s) },
            "getPages" to { s -> imds.getPages(s).next() },
            "identityCertificate" to { s -> imds.identityCertificate(s) },
            "iamToken(profileId)" to { s -> imds.iamToken(profileId = s) },
            "iamToken(profileCrn)" to { s -> imds.iamToken(profileCrn = s) },
            "iamToken(profileName)" to { s -> imds.iamToken(profileName = s) },
            "keyAsync" to { s -> runBlocking { imds.keyAsync(s) } },
            "getAsync" to { s -> runBlocking { imds.getAsync(s) } },
            "getAllAsync" to { s -> runBlocking { imds.getAllAsync(s) } },
            "iamTokenAsync(profileName)" to { s -> runBlocking { imds.iamTokenAsync(profileName = s) } },
            "settings.endpoint" to { s -> imdsClient(ImdsSettings(endpoint = "http://127.0.0.1$s"), readEnv = false) },
            "settings.version" to { s -> imdsClient(ImdsSettings(endpoint = emu.base, version = s), readEnv = false) },
            "Machine.start" to { s -> Machine(ImdsSettings(endpoint = emu.base), 1u).start("key", mapOf("id" to ArgValue.Text(s)), 0u) },
        )
        for (bad in listOf("\uD800", "key-\uDC00", "a\uD800b", "\uDBFF\uDBFF\uDFFF")) {
            for ((name, call) in calls) {
                val e = assertThrows(Throwable::class.java) { call(bad) }
                assertTrue(e is ImdsException.InvalidInput, "$name with a lone surrogate: ${e.javaClass.name}: ${e.message}")
                assertEquals("invalid_input", (e as ImdsException).kind)
                assertEquals("input", e.details.reason)
            }
        }
        assertEquals(0, emu.counters()["requests"].asInt(), "nothing was sent")
        // A surrogate pair is well-formed: it crosses (and the driver judges it).
        val pair = assertThrows(ImdsException::class.java) { imds.key("\uD83D\uDE00") }
        assertFalse(pair.message.orEmpty().contains("surrogate"), pair.message)
    }

    @Test
    fun refusedConnection() {
        val port = ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort }
        val imds = imdsClient(
            ImdsSettings(endpoint = "http://127.0.0.1:$port", maxAttempts = 2u, baseDelay = Duration.ofMillis(5)),
            readEnv = false,
        )
        val e = assertThrows(ImdsException::class.java) { imds.instance() }
        assertEquals("refused", e.kind, e.message)
        assertEquals("refused", e.details.transport)
    }

    @Test
    fun eightThreadsShareOneToken() {
        val imds = client()
        val barrier = CyclicBarrier(8)
        val pool = Executors.newFixedThreadPool(8)
        try {
            val results = (1..8).map { pool.submit<String?> { barrier.await(); imds.instance().resourceType } }.map { it.get(30, TimeUnit.SECONDS) }
            assertEquals(List(8) { "instance" }, results)
        } finally {
            pool.shutdown()
        }
        val counters = emu.counters()
        assertEquals(1, counters["token_creations"].asInt(), "8 threads, one token request: $counters")
        assertEquals(8, counters["metadata_gets"].asInt())
    }

    @Test
    fun eightCoroutinesShareOneToken() {
        val imds = client()
        val docs = runBlocking(Dispatchers.Default) {
            (1..8).map { async { imds.instanceAsync() } }.awaitAll()
        }
        assertEquals(8, docs.count { it.resourceType == "instance" })
        val pages = runBlocking { imds.getPages("keys?limit=2").asFlow().toList() }
        assertEquals(2, pages.size)
        assertEquals(3, runBlocking { imds.sshKeysAsync() }.size)
        val counters = emu.counters()
        assertEquals(1, counters["token_creations"].asInt(), "8 coroutines, one token request: $counters")
    }

    @Test
    fun twentyThreadsAndTwentyCoroutinesShareOneMachine() {
        val imds = client()
        emu.call("PUT", "/faults/latency", """{"ms":50}""") // the calls overlap
        val go = CountDownLatch(1)
        val gate = CompletableDeferred<Unit>()
        val pool = Executors.newFixedThreadPool(20)
        try {
            val threads = (1..20).map { pool.submit<String?> { go.await(); imds.instance().resourceType } }
            val coroutines = runBlocking(Dispatchers.Default) {
                val calls = (1..20).map { async { gate.await(); imds.instanceAsync().resourceType } }
                go.countDown()
                gate.complete(Unit)
                calls.awaitAll()
            }
            assertEquals(List(40) { "instance" }, threads.map { it.get(30, TimeUnit.SECONDS) } + coroutines)
        } finally {
            pool.shutdown()
        }
        var counters = emu.counters()
        assertEquals(1, counters["token_creations"].asInt(), "20 threads and 20 coroutines, one token request: $counters")
        assertEquals(1, counters["by_route"]["PUT /identity/v1/token"].asInt(), "$counters")
        assertEquals(40, counters["metadata_gets"].asInt())
        emu.call("DELETE", "/faults")
        // The IAM token of a profile is cached by the machine: a second call sends nothing.
        val first = imds.iamToken(profileName = "emu-cos-reader")
        val sent = emu.counters()["requests"].asInt()
        assertEquals(first.secret(), imds.iamToken(profileName = "emu-cos-reader").secret())
        assertEquals(first.secret(), runBlocking { imds.iamTokenAsync(profileName = "emu-cos-reader") }.secret())
        counters = emu.counters()
        assertEquals(sent, counters["requests"].asInt(), "a second iamToken() for the profile sends nothing: $counters")
        assertEquals(1, counters["iam_token_exchanges"].asInt())
    }

    @Test
    fun proxySettingsAreIgnored() {
        val saved = System.getProperty("http.proxyHost")
        System.setProperty("http.proxyHost", "127.0.0.1")
        System.setProperty("http.proxyPort", "9")
        try {
            assertEquals("instance", client().instance().resourceType)
        } finally {
            if (saved == null) System.clearProperty("http.proxyHost") else System.setProperty("http.proxyHost", saved)
            System.clearProperty("http.proxyPort")
        }
    }
}
