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
            throw invalidInput(
                "invalid input: a string argument holds a lone surrogate " +
                    "(U+${"%04X".format(c.code)} at index $i), which has no UTF-8 form",
            )
        }
        i++
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

/**
 * The leaf parts of MIME multi-part user data (cloud-init's `multipart/mixed`), bodies
 * decoded, gzip decompressed first; empty when the data is not multi-part. Parsed by
 * the native driver, the same way in every binding.
 */
fun ByteArray.mimeParts(): List<UserDataPart> = userDataParts(this) ?: emptyList()

/** A part's payload as text, in its declared charset (UTF-8 when none or unknown). */
val UserDataPart.text: String
    get() = String(payload, charset?.let { runCatching { charset(it) }.getOrNull() } ?: Charsets.UTF_8)
