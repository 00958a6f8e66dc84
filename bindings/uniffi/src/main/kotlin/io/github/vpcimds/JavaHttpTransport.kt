package io.github.vpcimds

import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.delay
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withTimeout
import java.io.IOException
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.URI
import java.net.UnknownHostException
import java.net.http.HttpClient
import java.net.http.HttpConnectTimeoutException
import java.net.http.HttpTimeoutException
import java.nio.channels.UnresolvedAddressException
import java.time.Duration
import java.util.concurrent.CancellationException
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException
import java.util.concurrent.TimeUnit
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

    private fun start(request: HttpRequest): CompletableFuture<JdkResponse<ByteArray>> =
        http.sendAsync(build(request), JdkResponse.BodyHandlers.ofByteArray())

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

    private fun convert(r: JdkResponse<ByteArray>): HttpResponse = HttpResponse(
        status = r.statusCode().toUShort(),
        retryAfter = r.headers().firstValue("retry-after").orElse(null),
        body = r.body() ?: ByteArray(0),
    )

    override fun send(request: HttpRequest): HttpResponse {
        val jdk = try {
            build(request)
        } catch (e: Exception) {
            throw failure(e)
        }
        // HttpClient.send on this thread (no hand-off to a pool thread: about 200 µs
        // less per request than sendAsync().get()); its own timeout covers the
        // response head only, so a watchdog interrupts the call at the deadline to
        // bound the body too.
        val watchdog = Watchdog(Thread.currentThread())
        watchdog.arm(request.timeout.toMillis().coerceAtLeast(1))
        try {
            return convert(http.send(jdk, JdkResponse.BodyHandlers.ofByteArray()))
        } catch (e: InterruptedException) {
            if (watchdog.fired) {
                throw TransportException.ResponseTimeout("no whole response within ${request.timeout.toMillis()} ms")
            }
            Thread.currentThread().interrupt()
            throw TransportException.ConnectionLost("interrupted")
        } catch (e: Exception) {
            throw if (watchdog.fired) {
                TransportException.ResponseTimeout("no whole response within ${request.timeout.toMillis()} ms")
            } else {
                failure(e)
            }
        } finally {
            watchdog.disarm()
        }
    }

    override suspend fun sendAsync(request: HttpRequest): HttpResponse {
        val future = try {
            start(request)
        } catch (e: Exception) {
            throw failure(e)
        }
        try {
            return withTimeout(request.timeout.toMillis().coerceAtLeast(1)) { convert(future.awaitOrAbort()) }
        } catch (e: TimeoutCancellationException) {
            throw TransportException.ResponseTimeout("no whole response within ${request.timeout.toMillis()} ms")
        } catch (e: kotlin.coroutines.cancellation.CancellationException) {
            throw e
        } catch (e: Exception) {
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

    /** Interrupts [thread] when armed time runs out, unless disarmed first. */
    private class Watchdog(private val thread: Thread) : Runnable {
        private var done = false
        private var task: java.util.concurrent.ScheduledFuture<*>? = null

        @Volatile
        var fired = false
            private set

        fun arm(millis: Long) {
            task = TIMER.schedule(this, millis, TimeUnit.MILLISECONDS)
        }

        @Synchronized
        override fun run() {
            if (!done) {
                fired = true
                thread.interrupt()
            }
        }

        fun disarm() {
            task?.cancel(false)
            synchronized(this) { done = true }
            // Fired after the call returned (or threw for another reason): clear the flag.
            if (fired) Thread.interrupted()
        }
    }

    internal companion object {
        /** One daemon thread for every transport's watchdogs. */
        private val TIMER = java.util.concurrent.ScheduledThreadPoolExecutor(1) { r ->
            Thread(r, "vpc-imds-deadline").apply { isDaemon = true }
        }.apply { removeOnCancelPolicy = true }

        /** A JDK failure as the driver's transport error kind (the message never holds a token). */
        fun failure(e: Throwable): TransportException {
            val detail = "${e.javaClass.simpleName}: ${e.message ?: ""}"
            var cause: Throwable? = e
            while (cause != null) {
                when (cause) {
                    is TransportException -> return cause
                    is HttpConnectTimeoutException -> return TransportException.ConnectTimeout(detail)
                    is HttpTimeoutException -> return TransportException.ResponseTimeout(detail)
                    is NoRouteToHostException, is UnknownHostException, is UnresolvedAddressException ->
                        return TransportException.Unreachable(detail)
                    is ConnectException -> return TransportException.Refused(detail)
                    is SSLException -> return TransportException.Tls(detail)
                    is CancellationException -> return TransportException.ConnectionLost(detail)
                }
                cause = cause.cause
            }
            return when (e) {
                is IOException -> TransportException.ConnectionLost(detail)
                is IllegalArgumentException -> TransportException.Unreachable(detail)
                else -> TransportException.ConnectionLost(detail)
            }
        }
    }
}
