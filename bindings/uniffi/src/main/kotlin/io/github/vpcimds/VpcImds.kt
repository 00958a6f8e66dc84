@file:JvmName("VpcImds")

package io.github.vpcimds

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionException

/** The environment variable read for the endpoint (unless `readEnv` is false). */
const val ENDPOINT_ENV: String = "VPC_IMDS_ENDPOINT"

/**
 * A client of the instance metadata service with the default transport
 * ([JavaHttpTransport], no proxy, the configured connect timeout). Clients with the
 * default connect timeout share one transport (one for plain HTTP, one for HTTPS), as
 * IBM's SDKs share one OkHttp client: a JDK `HttpClient` is thread-safe, keeps its own
 * connection pool, and costs milliseconds to build (a selector thread).
 *
 * The endpoint is `settings.endpoint`, else `VPC_IMDS_ENDPOINT` (when [readEnv]),
 * else `http://169.254.169.254` (`https://api.metadata.cloud.ibm.com` with
 * `secure = true`). Every setting is checked here (`ImdsException.InvalidInput`).
 * A blocking call whose thread is interrupted ends within 50 ms of its next wait (or
 * at once, if it was sending) as `ImdsException.Interrupted` ([ThreadInterruption]).
 *
 * ```kotlin
 * val imds = imdsClient(ImdsSettings(endpoint = "http://127.0.0.1:8080"))
 * println(imds.instance().name)           // blocking: an Instance
 * runBlocking { imds.instanceAsync() }    // suspend
 * ```
 */
@JvmOverloads
fun imdsClient(
    settings: ImdsSettings = ImdsSettings(),
    readEnv: Boolean = true,
    transport: JavaHttpTransport? = null,
): ImdsClient {
    val read = readEnv && settings.envEndpoint == null
    val withEnv = if (read) settings.copy(envEndpoint = System.getenv(ENDPOINT_ENV)) else settings
    if (transport != null) return ImdsClient(withEnv, transport, transport, ThreadInterruption)
    if (withEnv.connectTimeout == null) {
        // The default connect timeout: the HttpClient is built on a daemon thread while
        // this one loads the native library (a fresh JVM's two slowest steps, overlapped).
        // For a plain-HTTP endpoint (the service's own, http://169.254.169.254) it gets
        // a TLS context without the JDK's CA certificates, which it would never use
        // (loading them is a third of a new HttpClient's time); the machine's endpoint
        // is checked afterwards, and anything but http:// gets the JDK's defaults.
        val plain = !withEnv.secure &&
            !(withEnv.endpoint ?: withEnv.envEndpoint ?: "").startsWith("https:", ignoreCase = true)
        val http = (if (plain) SHARED_PLAIN else SHARED_TLS).get()
        uniffiEnsureInitialized()
        val t = http.await()
        val client = ImdsClient(withEnv, t, t, ThreadInterruption)
        if (!plain || client.endpoint().startsWith("http://")) return client
        client.close()
        val tls = SHARED_TLS.get().await()
        return ImdsClient(withEnv, tls, tls, ThreadInterruption)
    }
    // Validated once without a transport, to size the HTTP client's connect timeout;
    // meanwhile a daemon thread loads the JDK's TLS defaults, which every HttpClient loads.
    HTTP_WARM_UP
    val probe = ImdsClient(withEnv)
    val connect = probe.connectTimeout()
    probe.close()
    val t = synchronized(BY_CONNECT_TIMEOUT) { BY_CONNECT_TIMEOUT.getOrPut(connect) { JavaHttpTransport(connect) } }
    return ImdsClient(withEnv, t, t, ThreadInterruption)
}

/**
 * A blocking call's question "was my thread interrupted?", asked on the calling
 * thread; the flag is read, not cleared, so the caller still sees it after the call
 * ends as `ImdsException.Interrupted`. Pass it to `ImdsClient(...)` built by hand.
 */
object ThreadInterruption : Interruption {
    override fun interrupted(): Boolean = Thread.currentThread().isInterrupted
}

/**
 * The transport clients with the default connect timeout share, built once on a daemon
 * thread (so that the first [imdsClient] loads the native library meanwhile); built
 * again by the next caller if building it failed.
 */
private class SharedTransport(private val plain: Boolean) {
    @Volatile
    private var built: CompletableFuture<JavaHttpTransport>? = null

    fun get(): CompletableFuture<JavaHttpTransport> =
        built?.takeUnless { it.isCompletedExceptionally } ?: synchronized(this) {
            built?.takeUnless { it.isCompletedExceptionally } ?: CompletableFuture.supplyAsync({
                JavaHttpTransport(DEFAULT_CONNECT_TIMEOUT, if (plain) plainHttpOnly() else null)
            }) { task -> Thread(task, "vpc-imds-warm-up").apply { isDaemon = true }.start() }.also { built = it }
        }
}

/** One transport per connect timeout clients ask for, the 16 used last: each HttpClient
 * has a selector thread and a pool that JDK 17 cannot close (a client per request
 * would pile them up); one dropped from here ends when it is collected. */
private val BY_CONNECT_TIMEOUT = object : LinkedHashMap<java.time.Duration, JavaHttpTransport>(16, 0.75f, true) {
    override fun removeEldestEntry(eldest: MutableMap.MutableEntry<java.time.Duration, JavaHttpTransport>) = size > 16
}

private val SHARED_PLAIN = SharedTransport(plain = true)
private val SHARED_TLS = SharedTransport(plain = false)

private fun <T> CompletableFuture<T>.await(): T = try { join() } catch (e: CompletionException) { throw e.cause ?: e }

/**
 * A TLS context that trusts no certificate (no CA certificates loaded), for an
 * `HttpClient` that only ever speaks plain HTTP: a TLS connection through it fails.
 */
private fun plainHttpOnly(): javax.net.ssl.SSLContext =
    javax.net.ssl.SSLContext.getInstance("TLS").apply { init(null, arrayOf<javax.net.ssl.TrustManager>(), null) }

/**
 * Started by the first [imdsClient] that sets its own connect timeout: a daemon thread
 * initialises the JDK's default `SSLContext` (which every `HttpClient` loads, even for
 * plain HTTP: security providers, certificates) while the calling thread loads the
 * native library.
 */
private val HTTP_WARM_UP: Unit by lazy {
    Thread({ runCatching { javax.net.ssl.SSLContext.getDefault() } }, "vpc-imds-warm-up")
        .apply { isDaemon = true }
        .start()
}

/**
 * [value], once it is known to have a UTF-8 form: the check every string argument
 * (ids, paths, trusted profiles, CSRs, settings: the native type `InputText`)
 * passes before it crosses to the native side (its converter calls this; see
 * `uniffi.toml`). A lone UTF-16 surrogate is [ImdsException.InvalidInput] and
 * nothing is sent, as in every other binding (the JDK's encoder would otherwise
 * throw `MalformedInputException` while lowering it). The message names the
 * position, never the text.
 */
internal fun checkedText(value: String): String {
    var i = 0
    while (i < value.length) {
        val c = value[i]
        if (c.isHighSurrogate() && i + 1 < value.length && value[i + 1].isLowSurrogate()) {
            i += 2
        } else if (c.isSurrogate()) {
            throw invalidInput(
                "invalid input: a string argument holds a lone surrogate " +
                    "(U+${"%04X".format(c.code)} at index $i), which has no UTF-8 form",
            )
        } else {
            i++
        }
    }
    return value
}

/** The pages as a lazy sequence (blocking on each page); the last page ends it. */
fun Pages.asSequence(): Sequence<Document> = generateSequence { next() }

/** The pages as a cold flow (suspending on each page). */
fun Pages.asFlow(): Flow<Document> = flow {
    while (true) emit(nextAsync() ?: break)
}

/** Whether these user data bytes are gzip-compressed (the driver's rule). */
fun ByteArray.isGzip(): Boolean = userDataIsGzip(this)

/** These user data bytes, decompressed (CRC checked, at most 16 MiB) if they are gzip. */
fun ByteArray.gunzipIfNeeded(): ByteArray = if (isGzip()) userDataGunzip(this) else this

/** Whether these user data bytes (gzip removed) are a well-formed MIME multi-part document. */
fun ByteArray.isMultipart(): Boolean = userDataIsMultipart(this)

/**
 * The parts of these user data bytes, as every binding gives them ([userDataParts]):
 * gzip removed, then the leaf parts of a MIME multi-part document (cloud-init's
 * `multipart/mixed`), bodies decoded; or the whole data as one part with a `null`
 * content type when it is not multi-part; none when empty.
 */
fun ByteArray.parts(): List<UserDataPart> = userDataParts(this)

/** The parts ([parts]); it used to be empty for data that is not multi-part. */
@Deprecated("The same parts as every binding gives", ReplaceWith("parts()"))
fun ByteArray.mimeParts(): List<UserDataPart> = parts()

/** A part's payload as text, in its declared charset (UTF-8 when none or unknown). */
val UserDataPart.text: String
    get() = String(payload, charset?.let { runCatching { charset(it) }.getOrNull() } ?: Charsets.UTF_8)
