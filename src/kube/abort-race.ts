/**
 * Settles `work` the moment `signal` aborts, with the signal's reason, even
 * if the work itself has not noticed.
 *
 * Why: undici (8.12) leaves a request that is waiting for its connection
 * deaf to its AbortSignal until the connection is made or its connect
 * timeout (10 s) passes. On a path that drops packets, a new connection's
 * TLS handshake hangs, so a request the operator gave up on after its
 * --request-timeout held its worker (or a Lease round) for 10 s. Measured:
 * a 1 s AbortSignal.timeout rejected after 10.5 s with ConnectTimeoutError.
 *
 * The work goes on in the background; `discard` is given its result if it
 * still succeeds after the abort (e.g. to drain a response nobody reads). A
 * request that still reaches the apiserver after we gave up on it is no
 * different from one whose answer was lost: the operator's writes are
 * conditional and carry their operation key.
 */
export function settleOnAbort<T>(work: Promise<T>, signal: AbortSignal | null | undefined, discard: (late: T) => void): Promise<T> {
  if (!signal) return work;
  const abandon = () => {
    work.then(discard, () => undefined);
  };
  if (signal.aborted) {
    abandon();
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      abandon();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
