@file:JvmName("VpcImds")

package io.github.vpcimds

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.io.ByteArrayInputStream
import java.util.zip.GZIPInputStream

/** The environment variable read for the endpoint (unless `readEnv` is false). */
const val ENDPOINT_ENV: String = "VPC_IMDS_ENDPOINT"

/**
 * A client of the instance metadata service with the default transport
 * ([JavaHttpTransport], no proxy, the configured connect timeout).
 *
 * The endpoint is `settings.endpoint`, else `VPC_IMDS_ENDPOINT` (when [readEnv]),
 * else `http://169.254.169.254` (`https://api.metadata.cloud.ibm.com` with
 * `secure = true`). Every setting is checked here (`ImdsException.InvalidInput`).
 *
 * ```kotlin
 * val imds = imdsClient(ImdsSettings(endpoint = "http://127.0.0.1:8080"))
 * println(imds.instance().json)           // blocking
 * runBlocking { imds.instanceAsync() }    // suspend
 * ```
 */
@JvmOverloads
fun imdsClient(
    settings: ImdsSettings = ImdsSettings(),
    readEnv: Boolean = true,
    transport: JavaHttpTransport? = null,
): ImdsClient {
    val withEnv = if (readEnv && settings.envEndpoint == null) {
        settings.copy(envEndpoint = System.getenv(ENDPOINT_ENV))
    } else {
        settings
    }
    // Validated once without a transport, to size the HTTP client's connect timeout.
    val probe = ImdsClient(withEnv)
    val connect = probe.connectTimeout()
    probe.close()
    val t = transport ?: JavaHttpTransport(connect)
    return ImdsClient(withEnv, t, t)
}

/** The error kind as the other bindings spell it: `not_found`, `timed_out`, ... */
val ImdsException.kind: String get() = errorKind(this)

/** The details every [ImdsException] kind carries, for code that catches the base class. */
data class ImdsErrorDetails(
    /** What went wrong (never holds a token). */
    val text: String,
    /** Why: `input`, `transport`, `deadline`, `http`, `body`, `api`, `protocol`, `misuse`. */
    val reason: String,
    /** HTTP status of an error answer. */
    val status: UShort?,
    /** IBM's error code. */
    val code: String?,
    /** IBM's error message. */
    val apiMessage: String?,
    /** IBM's trace id. */
    val trace: String?,
    /** The field, header or parameter at fault. */
    val target: String?,
    /** The `Retry-After` seconds the service asked for. */
    val retryAfter: UInt?,
)

/** This error's details, whatever its kind. */
val ImdsException.details: ImdsErrorDetails
    get() = when (this) {
        is ImdsException.InvalidInput -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.Refused -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.TimedOut -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.ConnectionLost -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.Unauthorized -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.NotFound -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.RateLimited -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.ServerException -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.Rejected -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
        is ImdsException.BadResponse -> ImdsErrorDetails(text, reason, status, code, apiMessage, trace, target, retryAfter)
    }

/** The pages as a lazy sequence (blocking on each page); the last page ends it. */
fun Pages.asSequence(): Sequence<Document> = generateSequence { next() }

/** The pages as a cold flow (suspending on each page). */
fun Pages.asFlow(): Flow<Document> = flow {
    while (true) emit(nextAsync() ?: break)
}

/** Whether these user data bytes are gzip-compressed. */
fun ByteArray.isGzip(): Boolean = size >= 2 && this[0] == 0x1f.toByte() && this[1] == 0x8b.toByte()

/** These user data bytes, decompressed if they are gzip (else as they are). */
fun ByteArray.gunzipIfNeeded(): ByteArray =
    if (isGzip()) GZIPInputStream(ByteArrayInputStream(this)).use { it.readBytes() } else this

/**
 * The parts of MIME multipart user data (cloud-init's `Content-Type: multipart/mixed;
 * boundary=...`) as (headers, body) pairs; a single part when it is not multipart.
 */
fun ByteArray.mimeParts(): List<Pair<Map<String, String>, String>> {
    val text = gunzipIfNeeded().toString(Charsets.UTF_8)
    val (head, body) = splitHead(text) ?: return listOf(emptyMap<String, String>() to text)
    val type = head["content-type"] ?: return listOf(emptyMap<String, String>() to text)
    val boundary = Regex("boundary=\"?([^\";]+)\"?", RegexOption.IGNORE_CASE).find(type)?.groupValues?.get(1)
    if (!type.lowercase().startsWith("multipart/") || boundary == null) return listOf(head to body)
    return body.split("--$boundary")
        .drop(1)
        .takeWhile { !it.startsWith("--") }
        .mapNotNull { part -> splitHead(part.trimStart('\r', '\n')) }
        .map { (h, b) -> h to b.trimEnd('\r', '\n') }
}

private fun splitHead(text: String): Pair<Map<String, String>, String>? {
    val normalized = text.replace("\r\n", "\n")
    val end = normalized.indexOf("\n\n")
    if (end < 0) return null
    val lines = normalized.substring(0, end).split("\n")
    if (lines.any { it.isNotBlank() && !it.contains(':') && !it.first().isWhitespace() }) return null
    val head = linkedMapOf<String, String>()
    var last: String? = null
    for (line in lines) {
        if (line.isNotEmpty() && line.first().isWhitespace() && last != null) {
            head[last] = head[last] + " " + line.trim()
            continue
        }
        val name = line.substringBefore(':').trim().lowercase()
        head[name] = line.substringAfter(':').trim()
        last = name
    }
    return head to normalized.substring(end + 2)
}
