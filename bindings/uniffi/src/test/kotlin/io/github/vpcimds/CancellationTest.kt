package io.github.vpcimds

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.InputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.time.Duration
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread

/**
 * A loopback HTTP/1.1 server (127.0.0.1 only) that counts the requests it receives:
 * a `PUT` gets an identity token, a `GET` a 404 (or, with [hold], no answer at all:
 * the connection stays open until the client closes it, which [closed] counts);
 * with [busy], every request a 503 asking to retry after 20 s.
 */
class CountingServer(private val hold: Boolean = false, private val busy: Boolean = false) : AutoCloseable {
    private val server = ServerSocket(0, 64, InetAddress.getLoopbackAddress())
    val base = "http://127.0.0.1:${server.localPort}"

    /** Request lines received, in order (`GET /metadata/v1/instance?version=...`). */
    val lines = ConcurrentLinkedQueue<String>()
    val requests = AtomicInteger()

    /** Counted down when a held request arrives. */
    val held = CountDownLatch(1)

    /** Counted down when the client closes a held request's connection. */
    val closed = CountDownLatch(1)
    private val sockets = ConcurrentLinkedQueue<Socket>()

    init {
        thread(isDaemon = true, name = "counting-server") {
            while (!server.isClosed) {
                val s = runCatching { server.accept() }.getOrNull() ?: break
                sockets += s
                thread(isDaemon = true) { runCatching { serve(s) } }
            }
        }
    }

    private fun serve(s: Socket) = s.use {
        val input = s.getInputStream()
        while (true) {
            val head = readHead(input) ?: return
            val line = head.lineSequence().first()
            lines += line
            requests.incrementAndGet()
            val length = Regex("(?im)^content-length:\\s*(\\d+)").find(head)?.groupValues?.get(1)?.toInt() ?: 0
            input.readNBytes(length)
            val out = s.getOutputStream()
            if (busy) {
                out.write(response("503 Service Unavailable\r\nRetry-After: 20", """{"errors": [{"code": "busy", "message": "later"}]}"""))
            } else if (line.startsWith("PUT ")) {
                val body = """{"access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2ln", """ +
                    """"created_at": "2025-09-01T12:00:00.000Z", "expires_at": "2025-09-01T12:05:00.000Z", "expires_in": 300}"""
                out.write(response("200 OK", body))
            } else if (hold) {
                held.countDown()
                // No answer: wait for the client to give up on the request.
                while (input.read() >= 0) { /* ignore anything more */ }
                closed.countDown()
                return
            } else {
                out.write(response("404 Not Found", """{"errors": [{"code": "not_found", "message": "none here"}], "trace": "t-1"}"""))
            }
            out.flush()
        }
    }

    private fun response(status: String, body: String): ByteArray {
        val bytes = body.toByteArray()
        return ("HTTP/1.1 $status\r\nContent-Type: application/json\r\nContent-Length: ${bytes.size}\r\n\r\n")
            .toByteArray() + bytes
    }

    /** The request head, or null at the end of the stream. */
    private fun readHead(input: InputStream): String? {
        val head = StringBuilder()
        while (!head.endsWith("\r\n\r\n")) {
            val b = input.read()
            if (b < 0) return null
            head.append(b.toChar())
        }
        return head.toString()
    }

    override fun close() {
        server.close()
        sockets.forEach { runCatching { it.close() } }
    }
}

/** A cancelled `suspend` call sends nothing; cancelling one in flight aborts its request. */
class CancellationTest {
    private fun client(server: CountingServer, settings: ImdsSettings = ImdsSettings()) =
        imdsClient(settings.copy(endpoint = server.base), readEnv = false)

    @Test
    fun callInACancelledCoroutineSendsNothing() = CountingServer().use { server ->
        val imds = client(server)
        // A token in the cache: a call would go straight to its GET.
        imds.identityToken()
        assertEquals(1, server.requests.get())
        val tries = 40
        val cancelled = AtomicInteger()
        runBlocking(Dispatchers.Default) {
            repeat(tries) { i ->
                launch {
                    cancel() // this coroutine is cancelled before the call is made
                    try {
                        when (i % 4) {
                            0 -> imds.instanceAsync()
                            1 -> imds.getAsync("instance")
                            2 -> imds.keys().nextAsync()
                            else -> imds.identityTokenAsync()
                        }
                    } catch (e: CancellationException) {
                        cancelled.incrementAndGet()
                    }
                }.join()
            }
        }
        // A request that did start would arrive within this grace time.
        Thread.sleep(500)
        val sent = server.requests.get() - 1
        println("cancellation: $sent of $tries calls in a cancelled coroutine sent a request ${server.lines.drop(1).take(3)}")
        assertEquals(tries, cancelled.get(), "every call ended with CancellationException")
        assertEquals(0, sent, "a cancelled call sends nothing: ${server.lines}")
        // The client still works.
        val e = org.junit.jupiter.api.Assertions.assertThrows(ImdsException::class.java) { runBlocking { imds.instanceAsync() } }
        assertEquals("not_found", e.kind)
    }

    @Test
    fun cancellingACallInFlightAbortsItsRequest() = CountingServer(hold = true).use { server ->
        // A request deadline far beyond the test's: only cancellation can end the call.
        val imds = client(server, ImdsSettings(requestTimeout = Duration.ofSeconds(10), timeout = Duration.ofSeconds(10)))
        imds.identityToken()
        runBlocking {
            val call = launch(Dispatchers.Default) { imds.instanceAsync() }
            assertTrue(server.held.await(5, TimeUnit.SECONDS), "the GET arrived: ${server.lines}")
            val started = System.nanoTime()
            call.cancelAndJoin()
            val ended = (System.nanoTime() - started) / 1_000_000
            assertTrue(ended < 1000, "the call ended $ended ms after its coroutine was cancelled")
            val aborted = server.closed.await(2, TimeUnit.SECONDS)
            val closedMs = (System.nanoTime() - started) / 1_000_000
            println("cancellation: call ended after $ended ms, its connection ${if (aborted) "closed after $closedMs ms" else "still open after 2 s"}")
            assertTrue(aborted, "the request was aborted (its connection closed), not left running")
        }
    }

    /** [call] on a new thread, to be interrupted ([interruptAfter]). */
    private class Call(call: () -> Unit) {
        @Volatile var error: Throwable? = null
        @Volatile var flagAfter = false
        var endedMs = -1L
        private val thread = thread(isDaemon = true) {
            try { call() } catch (e: Throwable) { error = e }
            flagAfter = Thread.currentThread().isInterrupted
        }

        /** Interrupts the call after [ms] and waits for it to end (10 s at most). */
        fun interruptAfter(ms: Long): Call {
            Thread.sleep(ms)
            val started = System.nanoTime()
            thread.interrupt()
            thread.join(10_000)
            endedMs = (System.nanoTime() - started) / 1_000_000
            return this
        }
    }

    @Test
    fun aBlockingCallEndsWhenItsThreadIsInterruptedDuringBackoff() = CountingServer(busy = true).use { server ->
        // Every answer is a 503 asking for 20 s: the first backoff alone outlasts the test.
        val imds = imdsClient(ImdsSettings(endpoint = server.base), readEnv = false)
        val kotlin = Call { imds.waitUntilReady(max = Duration.ofSeconds(30)) }.interruptAfter(300)
        val java = Call { ImdsFacade.of(imds).waitUntilReady(Duration.ofSeconds(30)) }.interruptAfter(300)
        println("interrupt: backoff ended ${kotlin.endedMs} ms (Kotlin), ${java.endedMs} ms (facade) after the interrupt")
        assertTrue(kotlin.error is ImdsException.Interrupted, "Kotlin: ${kotlin.error}")
        assertEquals("interrupted", (kotlin.error as ImdsException).kind)
        assertTrue(java.error is ImdsInterruptedException, "facade: ${java.error}")
        assertEquals("interrupted", (java.error as ImdsFailure).reason)
        for (run in listOf(kotlin, java)) {
            assertTrue(run.endedMs < 5_000, "the call ended ${run.endedMs} ms after the interrupt, not after its 20 s backoff")
            assertTrue(run.flagAfter, "the interrupt flag is left set")
        }
        assertEquals(2, server.requests.get(), "one token request per call, then the backoff: ${server.lines}")
    }

    @Test
    fun anInterruptedPageIsNotTheEndOfTheList() = CountingServer(busy = true).use { server ->
        val imds = imdsClient(ImdsSettings(endpoint = server.base, timeout = Duration.ofSeconds(60)), readEnv = false)
        val pages = imds.keys()
        val first = Call { pages.next() }.interruptAfter(300)
        assertTrue(first.error is ImdsException.Interrupted, "${first.error}")
        val second = org.junit.jupiter.api.Assertions.assertThrows(ImdsException.InvalidInput::class.java) { pages.next() }
        assertEquals("misuse", second.reason, second.text)
    }

    @Test
    fun aBlockingCallEndsWhenItsThreadIsInterruptedWaitingForTheToken() {
        // Accepts and never answers: the first call's token request hangs until its deadline.
        val server = ServerSocket(0, 8, InetAddress.getLoopbackAddress())
        val held = ConcurrentLinkedQueue<Socket>()
        thread(isDaemon = true) { while (true) held += runCatching { server.accept() }.getOrNull() ?: break }
        try {
            val long = Duration.ofSeconds(30)
            val imds = imdsClient(
                ImdsSettings(endpoint = "http://127.0.0.1:${server.localPort}", requestTimeout = long, timeout = long),
                readEnv = false,
            )
            val fetching = Call { imds.instance() }
            Thread.sleep(300)
            // A second call waits for the token the first one fetches.
            val waiting = Call { imds.instance() }.interruptAfter(300)
            fetching.interruptAfter(0)
            println("interrupt: token wait ended ${waiting.endedMs} ms, token request ${fetching.endedMs} ms after the interrupt")
            for ((name, run) in listOf("waiting" to waiting, "fetching" to fetching)) {
                assertTrue(run.error is ImdsException.Interrupted, "$name: ${run.error}")
                assertTrue(run.endedMs < 5_000, "$name: ended ${run.endedMs} ms after the interrupt, not at its 30 s deadline")
                assertTrue(run.flagAfter, "$name: the interrupt flag is left set")
            }
            assertEquals(1, held.size, "one token request, shared by both calls")
        } finally {
            server.close()
            held.forEach { runCatching { it.close() } }
        }
    }
}
