package io.github.vpcimds

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.future.future
import java.time.Duration
import java.util.concurrent.CompletableFuture

// What the generated ImdsFacade (ImdsFacade.kt) calls: its futures' scope, the
// translation of errors, and the checks of Java numbers that the Kotlin client
// takes unsigned.

/** The facade's futures run here: `close()` cancels them; one failing ends no other. */
internal fun facadeScope() = CoroutineScope(SupervisorJob() + Dispatchers.Default)

/** [block], its [ImdsException] thrown as the facade's kind of it. */
internal inline fun <T> facade(block: () -> T): T = try {
    block()
} catch (e: ImdsException) {
    throw e.toFacade()
}

/** A future of [block]'s result; cancelling the future cancels the call. */
internal fun <T> CoroutineScope.facadeFuture(block: suspend () -> T): CompletableFuture<T> =
    future { facade { block() } }

/** Pages as an `Iterable`: each `iterator()` starts the operation anew. */
internal fun <T> facadeIterable(start: () -> Iterator<T>): Iterable<T> = Iterable {
    val pages = facade(start)
    object : Iterator<T> {
        override fun hasNext() = facade { pages.hasNext() }
        override fun next() = facade { pages.next() }
    }
}

/** A Java `int` as the Kotlin client's `UInt`; a negative one is `invalid_input`. */
internal fun u32(name: String, value: Int, range: String): UInt =
    if (value >= 0) value.toUInt() else throw invalidInput("invalid input: $name must be between $range").toFacade()

/** A Java `long` as the Kotlin client's `ULong`; a negative one is `invalid_input`. */
internal fun u64(name: String, value: Long, range: String): ULong =
    if (value >= 0) value.toULong() else throw invalidInput("invalid input: $name must be between $range").toFacade()

/** A negative duration is `invalid_input` (uniffi would throw its own exception). */
internal fun duration(name: String, value: Duration): Duration =
    if (!value.isNegative) value else throw invalidInput("invalid input: $name must not be negative").toFacade()
