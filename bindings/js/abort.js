// One 'abort' listener per AbortSignal, however many calls wait on it: Node warns
// (MaxListenersExceededWarning) past ten listeners on one signal, and one signal shared
// by many concurrent calls (a shutdown signal) is the common case.

/** Signal -> the callbacks waiting on it (one `fire` listener on the signal for all). */
const waiting = new WeakMap();

/** Calls `fn()` when `signal` aborts, until the returned function is called (any number
 * of times). Check `signal.aborted` first: an aborted signal fires no more. */
function onAbort(signal, fn) {
  let fns = waiting.get(signal);
  if (fns === undefined) {
    fns = new Set();
    // As separate listeners would be: one removed by an earlier one does not run, and
    // one that throws does not stop the others (its error is reported, as an event
    // listener's is).
    const fire = () => {
      waiting.delete(signal);
      for (const f of [...fns]) {
        if (!fns.has(f)) continue;
        try {
          f();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    };
    fns.fire = fire;
    waiting.set(signal, fns);
    signal.addEventListener('abort', fire, { once: true });
  }
  const each = () => fn();
  fns.add(each);
  return () => {
    if (!fns.delete(each) || fns.size > 0 || waiting.get(signal) !== fns) return;
    waiting.delete(signal);
    signal.removeEventListener('abort', fns.fire);
  };
}

export { onAbort };
