package io.github.vpcimds

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import kotlinx.coroutines.runBlocking
import java.net.InetAddress
import java.net.ServerSocket
import java.time.Duration
import kotlin.concurrent.thread

/** The default transport's deadline covers the body too (a server that stalls after the head). */
class TransportTest {
    private fun stallingServer(block: (port: Int) -> Unit) {
        ServerSocket(0, 8, InetAddress.getLoopbackAddress()).use { server ->
            val t = thread(isDaemon = true) {
                runCatching {
                    while (true) {
                        val s = server.accept()
                        s.getInputStream().read(ByteArray(4096))
                        s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":".toByteArray())
                        s.getOutputStream().flush()
                        // ... and never the rest; the socket stays open until the server closes.
                    }
                }
            }
            block(server.localPort)
            t.interrupt()
        }
    }

    private fun request(port: Int) = HttpRequest(
        id = 1u, method = "GET", url = "http://127.0.0.1:$port/metadata/v1/instance?version=2025-08-26",
        target = "/metadata/v1/instance?version=2025-08-26",
        headers = listOf(HttpHeader("Authorization", "Bearer eyJsecret", true)),
        body = null, timeout = Duration.ofMillis(300), connectTimeout = Duration.ofMillis(300),
    )

    @Test
    fun stalledBodyTimesOut() = stallingServer { port ->
        val transport = JavaHttpTransport()
        for (attempt in 1..2) {
            val started = System.nanoTime()
            val e = assertThrows(TransportException.ResponseTimeout::class.java) { transport.send(request(port)) }
            val ms = (System.nanoTime() - started) / 1_000_000
            assertTrue(ms in 250..1500, "blocking: gave up after $ms ms (deadline 300 ms): ${e.detail}")
            assertFalse(Thread.currentThread().isInterrupted, "the watchdog leaves no interrupt behind")
        }
        val started = System.nanoTime()
        assertThrows(TransportException.ResponseTimeout::class.java) { runBlocking { transport.sendAsync(request(port)) } }
        assertTrue((System.nanoTime() - started) / 1_000_000 < 1500, "suspend: meets the deadline")
        assertFalse(request(port).toString().contains("eyJsecret"), "HttpRequest.toString redacts")
    }

    @Test
    fun aBodyIsReadOnlyOneBytePastTheLimit() {
        ServerSocket(0, 8, InetAddress.getLoopbackAddress()).use { server ->
            val t = thread(isDaemon = true) {
                runCatching {
                    while (true) {
                        val s = server.accept()
                        thread(isDaemon = true) {
                            runCatching {
                                s.getInputStream().read(ByteArray(4096))
                                val out = s.getOutputStream()
                                out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n".toByteArray())
                                val chunk = ByteArray(512) { 'x'.code.toByte() }
                                while (true) out.write(chunk) // until the client goes
                            }
                            s.close()
                        }
                    }
                }
            }
            val transport = JavaHttpTransport()
            val limited = request(server.localPort).copy(timeout = Duration.ofSeconds(10), maxBytes = 2048u)
            val started = System.nanoTime()
            assertEquals(2049, transport.send(limited).body.size, "blocking: one byte past the limit")
            assertEquals(2049, runBlocking { transport.sendAsync(limited) }.body.size, "suspend: the same")
            val ms = (System.nanoTime() - started) / 1_000_000
            assertTrue(ms < 5000, "stopped reading at the limit, not at the deadline ($ms ms)")
            t.interrupt()
        }
    }

    /** Each body by its framing: under the limit with a Content-Length (the JDK's own
     * subscriber) whole; chunked, or with no length, cut one byte past the limit. */
    @Test
    fun eachFramingIsReadToTheLimit() {
        val x = { n: Int -> "x".repeat(n) }
        val chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
            "fa0\r\n${x(4000)}\r\n0\r\n\r\n"
        val answers = listOf(
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${x(1000)}" to 1000,
            "HTTP/1.1 200 OK\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n${x(2048)}" to 2048,
            chunked to 2049,
            "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n${x(4000)}" to 2049,
        )
        ServerSocket(0, 8, InetAddress.getLoopbackAddress()).use { server ->
            val next = java.util.concurrent.atomic.AtomicInteger()
            val t = thread(isDaemon = true) {
                runCatching {
                    while (true) {
                        server.accept().use { s ->
                            s.getInputStream().read(ByteArray(4096))
                            s.getOutputStream().write(answers[next.getAndIncrement() % answers.size].first.toByteArray())
                        }
                    }
                }
            }
            val transport = JavaHttpTransport()
            val limited = request(server.localPort).copy(timeout = Duration.ofSeconds(10), maxBytes = 2048u)
            for ((answer, size) in answers) {
                val framing = answer.lineSequence().drop(1).first()
                assertEquals(size, transport.send(limited).body.size, "blocking, $framing")
            }
            for ((answer, size) in answers) {
                val framing = answer.lineSequence().drop(1).first()
                assertEquals(size, runBlocking { transport.sendAsync(limited) }.body.size, "suspend, $framing")
            }
            t.interrupt()
        }
    }

    @Test
    fun anInterruptedThreadSendsNothing() {
        ServerSocket(0, 8, InetAddress.getLoopbackAddress()).use { server ->
            val accepted = java.util.concurrent.atomic.AtomicInteger()
            val t = thread(isDaemon = true) { runCatching { while (true) server.accept().use { accepted.incrementAndGet() } } }
            val transport = JavaHttpTransport()
            Thread.currentThread().interrupt()
            try {
                assertThrows(TransportException.ConnectionLost::class.java) { transport.send(request(server.localPort)) }
                assertTrue(Thread.currentThread().isInterrupted, "the interrupt is kept for the caller")
            } finally {
                Thread.interrupted()
            }
            Thread.sleep(100)
            assertEquals(0, accepted.get(), "no connection was made")
            t.interrupt()
        }
    }

    @Test
    fun defaultClientsShareOneHttpClient() {
        val settings = ImdsSettings(endpoint = "http://127.0.0.1:9")
        // The shared one may be built already (by another test) or now.
        imdsClient(settings, readEnv = false).close()
        val before = JavaHttpTransport.built.get()
        val clients = (1..20).map { imdsClient(settings, readEnv = false) }
        assertEquals(before, JavaHttpTransport.built.get(), "20 default clients built no HttpClient of their own")
        clients.forEach { it.close() }
        imdsClient(settings.copy(connectTimeout = Duration.ofMillis(250)), readEnv = false).close()
        assertEquals(before + 1, JavaHttpTransport.built.get(), "a client with its own connect timeout has its own")
    }

    @Test
    fun failuresMapToKinds() {
        val closed = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val e = assertThrows(TransportException::class.java) { JavaHttpTransport().send(request(closed)) }
        assertTrue(e is TransportException.Refused, "a closed port is refused: $e")
        assertEquals(
            "Refused",
            JavaHttpTransport.failure(java.net.ConnectException("x")).javaClass.simpleName,
        )
        val untrusted = javax.net.ssl.SSLHandshakeException("PKIX path building failed")
        assertTrue(JavaHttpTransport.failure(untrusted) is TransportException.Tls)
        val cut = javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake")
            .apply { initCause(java.io.EOFException("SSL peer shut down incorrectly")) }
        assertTrue(JavaHttpTransport.failure(cut) is TransportException.ConnectionLost, "a cut handshake is lost, as in every host")
        // As the JDK's blocking send wraps them: what the socket saw decides.
        fun wrapped(root: Throwable, outer: (Throwable) -> Throwable = { java.net.ConnectException(it.message).initCause(it) }) =
            JavaHttpTransport.failure(outer(java.net.ConnectException(root.message).initCause(root))).javaClass.simpleName
        assertEquals("Refused", wrapped(java.nio.channels.ClosedChannelException()), "the JDK's refused connect")
        assertEquals("Refused", wrapped(java.net.ConnectException("Connection refused")))
        assertEquals("Unreachable", wrapped(java.net.NoRouteToHostException("No route to host")))
        assertEquals("Unreachable", wrapped(java.net.SocketException("Network is unreachable")))
        assertEquals("Unreachable", wrapped(java.nio.channels.UnresolvedAddressException()))
        val handshake = { root: Throwable ->
            JavaHttpTransport.failure(
                javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake")
                    .initCause(javax.net.ssl.SSLHandshakeException("Remote host terminated the handshake").initCause(root)),
            ).javaClass.simpleName
        }
        assertEquals("ConnectionLost", handshake(java.io.EOFException("SSL peer shut down incorrectly")))
        assertEquals("ConnectionLost", handshake(java.net.SocketException("Connection reset")))
        assertEquals("Tls", handshake(java.security.cert.CertificateException("untrusted")))
    }
}
