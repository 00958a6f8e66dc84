@file:JvmName("VpcImds")

package io.github.vpcimds

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

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
        if (c.isSurrogate()) {
            if (c.isHighSurrogate() && i + 1 < value.length && value[i + 1].isLowSurrogate()) {
                i += 2
                continue
            }
            throw ImdsException.InvalidInput(
                text = "invalid input: a string argument holds a lone surrogate " +
                    "(U+${"%04X".format(c.code)} at index $i), which has no UTF-8 form",
                reason = "input",
                status = null,
                code = null,
                apiMessage = null,
                trace = null,
                target = null,
                retryAfter = null,
            )
        }
        i++
    }
    return value
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

/** Whether these user data bytes are gzip-compressed (the driver's rule). */
fun ByteArray.isGzip(): Boolean = userDataIsGzip(this)

/** These user data bytes, decompressed (CRC checked, at most 16 MiB) if they are gzip. */
fun ByteArray.gunzipIfNeeded(): ByteArray = if (isGzip()) userDataGunzip(this) else this

/**
 * The leaf parts of MIME multi-part user data (cloud-init's `multipart/mixed`), bodies
 * decoded, gzip decompressed first; empty when the data is not multi-part. Parsed by
 * the native driver, the same way in every binding.
 */
fun ByteArray.mimeParts(): List<UserDataPart> = userDataParts(this) ?: emptyList()

/** A part's payload as text, in its declared charset (UTF-8 when none or unknown). */
val UserDataPart.text: String
    get() = String(payload, charset?.let { runCatching { charset(it) }.getOrNull() } ?: Charsets.UTF_8)
