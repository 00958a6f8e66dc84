#!/usr/bin/env python3
"""Makes uniffi's generated Kotlin reuse its call-status structures (ci.sh runs it
right after uniffi-bindgen 0.32.2).

uniffi allocates a JNA `Structure` for every call's status; each one is a JNA
`Memory`, which JNA registers in a global map and with its cleaner thread, and
unregisters when the garbage collector finds it: with a call per step, that
bookkeeping was the largest share of the stepped `Machine`'s samples (JFR). Here each
thread keeps the statuses of its finished calls and the next call takes one back,
reset. A call whose status reports an error throws before giving it back; a call made
while another is under way on the same thread (from a callback into Kotlin) takes
another.

    python3 pool_call_status.py GENERATED.kt

Fails, changing nothing, when the generated helper is not the one this expects (a new
uniffi version): then check the new template and adapt.
"""

import sys

BEFORE = """private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}"""

AFTER = """// Patched by bindings/uniffi/pool_call_status.py: each thread reuses the statuses of
// its finished calls (a JNA Memory apiece, costly to register and free).
private val uniffiCallStatuses: ThreadLocal<ArrayDeque<UniffiRustCallStatus>> =
    ThreadLocal.withInitial { ArrayDeque<UniffiRustCallStatus>() }

// A status for one call: one this thread gave back, reset, else a new one. Not inline:
// the helper below is inlined at every call.
private fun uniffiTakeStatus(): UniffiRustCallStatus =
    uniffiCallStatuses.get().removeLastOrNull()?.also {
        it.code = UNIFFI_CALL_SUCCESS
        it.error_buf.capacity = 0
        it.error_buf.len = 0
        it.error_buf.data = null
    } ?: UniffiRustCallStatus()

private fun uniffiGiveBack(status: UniffiRustCallStatus) {
    uniffiCallStatuses.get().addLast(status)
}

private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    val status = uniffiTakeStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    uniffiGiveBack(status)
    return return_value
}"""


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.count(BEFORE) != 1:
        print(f"{path}: uniffiRustCallWithError is not the uniffi 0.32 helper this patches", file=sys.stderr)
        return 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(BEFORE, AFTER))
    return 0


if __name__ == "__main__":
    sys.exit(main())
