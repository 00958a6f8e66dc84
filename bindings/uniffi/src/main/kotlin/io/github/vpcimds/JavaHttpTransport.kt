package io.github.vpcimds

import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.delay
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeout
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.URI
import java.net.UnknownHostException
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpTimeoutException
import java.nio.ByteBuffer
import java.nio.channels.UnresolvedAddressException
import java.time.Duration
import java.util.concurrent.CancellationException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import java.util.concurrent.CompletionStage
import java.util.concurrent.Flow
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.LockSupport
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLException
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException
import java.net.http.HttpRequest as JdkRequest
import java.net.http.HttpResponse as JdkResponse

/**
 * The default transport: `java.net.http.HttpClient` over HTTP/1.1, built with no
 * proxy (`HttpClient.Builder.NO_PROXY`: proxy settings and `http.proxyHost` are
 * never used for the metadata service), no redirects, and [connectTimeout]; each
 * request gets its own deadline (`request.timeout`), enforced on the whole exchange,
 * body included. It only moves bytes: retries, tokens and deadlines between
 * attempts are the native driver's.
 *
 * One instance serves both the blocking ([Transport]) and the coroutine
 * ([AsyncTransport]) methods of a client.
 */
class JavaHttpTransport @JvmOverloads constructor(
    connectTimeout: Duration = Duration.ofSeconds(1),
    sslContext: SSLContext? = null,
) : Transport, AsyncTransport {
    private val http: HttpClient = HttpClient.newBuilder()
        .proxy(HttpClient.Builder.NO_PROXY)
        .followRedirects(HttpClient.Redirect.NEVER)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(connectTimeout)
        .apply { if (sslContext != null) sslContext(sslContext) }
        .build()
        .also { built.incrementAndGet() }

    private fun build(request: HttpRequest): JdkRequest {
        val body = request.body
        val builder = JdkRequest.newBuilder(URI.create(request.url))
            .timeout(request.timeout)
            .method(
                request.method,
                if (body == null) JdkRequest.BodyPublishers.noBody()
                else JdkRequest.BodyPublishers.ofString(body),
            )
        for (h in request.headers) builder.header(h.name, h.value)
        return builder.build()
    }

    // Each field's lines joined, as a repeated field is: the core judges both.
    private fun convert(r: JdkResponse<ByteArray>): HttpResponse = HttpResponse(
        status = r.statusCode().toUShort(),
        retryAfter = r.headers().allValues("retry-after").takeIf { it.isNotEmpty() }?.joinToString(", "),
        transferEncoding = r.headers().allValues("transfer-encoding").takeIf { it.isNotEmpty() }?.joinToString(", "),
        body = r.body() ?: ByteArray(0),
    )

    private fun timedOut(request: HttpRequest) =
        TransportException.ResponseTimeout("no whole response within ${request.timeout.toMillis()} ms")

    override fun send(request: HttpRequest): HttpResponse {
        // HttpClient.send on this thread (no hand-off to a pool thread: about 200 µs
        // less per request than sendAsync().get()); its own timeout covers the
        // response head only, so a watchdog interrupts the call at the deadline to
        // bound the body too.
        // An interrupted thread sends nothing (the JDK would start the exchange, then
        // abort it); the client asks its Interruption after a failed send and ends the call.
        if (Thread.currentThread().isInterrupted) throw TransportException.ConnectionLost("interrupted")
        val watchdog = Watchdog(Thread.currentThread(), request.timeout.toMillis().coerceAtLeast(1))
        try {
            return convert(http.send(build(request), limited(request.maxBytes)))
        } catch (e: Exception) {
            if (watchdog.fired) throw timedOut(request)
            if (e !is InterruptedException) throw failure(e)
            Thread.currentThread().interrupt()
            throw TransportException.ConnectionLost("interrupted")
        } finally {
            watchdog.disarm()
        }
    }

    override suspend fun sendAsync(request: HttpRequest): HttpResponse {
        try {
            return withTimeout(request.timeout.toMillis().coerceAtLeast(1)) {
                convert(http.sendAsync(build(request), limited(request.maxBytes)).awaitOrAbort())
            }
        } catch (e: TimeoutCancellationException) {
            throw timedOut(request)
        } catch (e: kotlin.coroutines.cancellation.CancellationException) {
            throw e
        } catch (e: Throwable) {
            // An Error too (OutOfMemoryError): uniffi completes a suspend callback only
            // for an Exception, and the call would wait for ever.
            throw failure(e)
        }
    }

    /**
     * The response; a cancelled coroutine (its call cancelled, or the deadline's
     * `withTimeout`) aborts the exchange. kotlinx's `await` cancels the future with
     * `mayInterruptIfRunning = false`, and for that the JDK's client only completes
     * the future while the request runs on, its connection held open; `cancel(true)`
     * is what aborts the request and closes the connection.
     */
    private suspend fun <T> CompletableFuture<T>.awaitOrAbort(): T =
        suspendCancellableCoroutine { cont ->
            cont.invokeOnCancellation { cancel(true) }
            whenComplete { value, error ->
                if (error == null) {
                    cont.resume(value)
                } else {
                    cont.resumeWithException((error as? CompletionException)?.cause ?: error)
                }
            }
        }

    override suspend fun sleep(duration: Duration) {
        delay(duration.toMillis())
    }

    /**
     * The body, read to one byte past [max] at most (enough for the machine to refuse
     * it as too long); the rest is not read, and the connection is dropped.
     */
    private fun limited(max: ULong): JdkResponse.BodyHandler<ByteArray> {
        // Past what one array holds there is nothing to cut (the client's own limit
        // is 256 MiB at most).
        if (max >= (Int.MAX_VALUE - 8).toULong()) return JdkResponse.BodyHandlers.ofByteArray()
        val cap = max.toInt() + 1
        return JdkResponse.BodyHandler { info ->
            // A Content-Length under the cap (and no chunking): the JDK's own array
            // subscriber, which it completes without a hand-off to its executor
            // (measured 2026-12-08: a cached call 15 µs faster); else read to the cap.
            val h = info.headers()
            val length = runCatching { h.firstValueAsLong("content-length") }.getOrNull()
            if (length != null && length.isPresent && length.asLong in 0 until cap && h.firstValue("transfer-encoding").isEmpty) {
                JdkResponse.BodySubscribers.ofByteArray()
            } else {
                LimitedBody(cap)
            }
        }
    }

    private class LimitedBody(private val cap: Int) : JdkResponse.BodySubscriber<ByteArray> {
        private val out = java.io.ByteArrayOutputStream()
        private val body = CompletableFuture<ByteArray>()
        private var subscription: Flow.Subscription? = null

        override fun getBody(): CompletionStage<ByteArray> = body

        override fun onSubscribe(s: Flow.Subscription) {
            subscription = s
            s.request(Long.MAX_VALUE)
        }

        override fun onNext(item: List<ByteBuffer>) {
            if (body.isDone) return
            for (b in item) {
                val n = minOf(b.remaining(), cap - out.size())
                val bytes = ByteArray(n)
                b.get(bytes)
                out.write(bytes, 0, n)
                if (out.size() >= cap) {
                    body.complete(out.toByteArray())
                    subscription?.cancel()
                    return
                }
            }
        }

        override fun onError(t: Throwable) {
            body.completeExceptionally(t)
        }

        override fun onComplete() {
            body.complete(out.toByteArray())
        }
    }

    /** Interrupts [thread] once [millis] have passed, unless disarmed first. */
    private class Watchdog(private val thread: Thread, millis: Long) {
        private var done = false

        /** When to fire, in nanoseconds on [Deadlines]' clock. */
        val deadline = Deadlines.now() + TimeUnit.MILLISECONDS.toNanos(millis)

        @Volatile
        var fired = false
            private set

        init {
            Deadlines.arm(this)
        }

        /** The thread was interrupted already when the watchdog fired: not its own. */
        private var interruptedBefore = false

        @Synchronized
        fun fire() {
            if (!done) {
                fired = true
                interruptedBefore = thread.isInterrupted
                thread.interrupt()
            }
        }

        fun disarm() {
            Deadlines.disarm(this)
            synchronized(this) { done = true }
            // Clear the watchdog's interrupt (it may land after the call returned), and
            // keep the caller's own.
            if (fired && Thread.interrupted() && interruptedBefore) thread.interrupt()
        }
    }

    /**
     * One daemon thread for every transport's watchdogs. It sleeps until the earliest
     * armed deadline and is woken only when a new one is earlier than that, so
     * requests with the same timeout, one after another, arm and disarm without
     * waking it (a `ScheduledThreadPoolExecutor` with `removeOnCancelPolicy` woke its
     * thread for every request: a thread hand-off per request).
     */
    private object Deadlines : Runnable {
        private val origin = System.nanoTime()
        private val lock = Object()
        private val armed = HashSet<Watchdog>()
        private var wakeAt = Long.MAX_VALUE
        private var thread: Thread? = null

        /** Nanoseconds since [origin]: positive, far from overflow. */
        fun now(): Long = System.nanoTime() - origin

        fun arm(w: Watchdog) = synchronized(lock) {
            armed.add(w)
            val t = thread ?: Thread(this, "vpc-imds-deadline").also {
                it.isDaemon = true
                thread = it
                it.start()
            }
            if (w.deadline < wakeAt) {
                wakeAt = w.deadline
                LockSupport.unpark(t)
            }
        }

        fun disarm(w: Watchdog) = synchronized(lock) { armed.remove(w) }

        override fun run() {
            val due = ArrayList<Watchdog>()
            while (true) {
                var next = Long.MAX_VALUE
                var now: Long
                synchronized(lock) {
                    now = now()
                    val each = armed.iterator()
                    while (each.hasNext()) {
                        val w = each.next()
                        if (w.deadline <= now) {
                            each.remove()
                            due.add(w)
                        } else if (w.deadline < next) {
                            next = w.deadline
                        }
                    }
                    wakeAt = next
                }
                due.forEach { it.fire() }
                due.clear()
                // An arm() since the scan either was seen by it or unparks this thread
                // (both under the lock), so no deadline is missed.
                if (next == Long.MAX_VALUE) LockSupport.park(this) else LockSupport.parkNanos(this, next - now)
            }
        }
    }

    internal companion object {
        /** How many have been built in this JVM (what sharing them saves is visible in tests). */
        val built = java.util.concurrent.atomic.AtomicInteger()

        /** A JDK failure as the driver's transport error kind (the message never holds a token). */
        fun failure(e: Throwable): TransportException {
            val detail = "${e.javaClass.simpleName}: ${e.message ?: ""}"
            // The JDK wraps what a connect or a handshake threw, once or twice (blocking
            // `send` wraps again what `sendAsync` gives): the whole chain is judged.
            val chain = generateSequence(e) { it.cause }.take(16).toList()
            chain.firstNotNullOfOrNull { it as? TransportException }?.let { return it }
            val root = chain.last()
            fun any(p: (Throwable) -> Boolean) = chain.any(p)
            return when {
                any { it is HttpConnectTimeoutException } -> TransportException.ConnectTimeout(detail)
                any { it is HttpTimeoutException } -> TransportException.ResponseTimeout(detail)
                any { it is NoRouteToHostException || it is UnknownHostException || it is UnresolvedAddressException } ->
                    TransportException.Unreachable(detail)
                // Cut during the handshake, as every host reads it: lost, and retried.
                any { it is SSLException } ->
                    if (root is java.io.EOFException || root is java.net.SocketException) TransportException.ConnectionLost(detail)
                    else TransportException.Tls(detail)
                // A refused connect reads as a ConnectException over a closed channel; one
                // over another socket error (a network not up yet: "Network is unreachable")
                // is unreachable, as the core's errno table reads it, and retried.
                any { it is ConnectException } ->
                    if (any { it is java.net.SocketException && it !is ConnectException }) TransportException.Unreachable(detail)
                    else TransportException.Refused(detail)
                any { it is CancellationException } -> TransportException.ConnectionLost(detail)
                // A URL the JDK refuses names no host it can reach; anything else lost the exchange.
                e is IllegalArgumentException -> TransportException.Unreachable(detail)
                else -> TransportException.ConnectionLost(detail)
            }
        }
    }
}
