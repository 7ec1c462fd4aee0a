import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RequestDeadline } from '../../src/kube/request-deadline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RequestDeadline', () => {
  it('aborts with a TimeoutError once its time has passed, and says it was the deadline', async () => {
    const deadline = new RequestDeadline(20);
    expect(deadline.signal.aborted).toBe(false);
    await sleep(60);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
    expect(deadline.timedOut).toBe(true);
  });

  it("aborts with the caller's reason when the caller gives up first, which is not a timeout", () => {
    const caller = new AbortController();
    const deadline = new RequestDeadline(10_000, caller.signal);
    const reason = new DOMException('stopping', 'AbortError');
    caller.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.timedOut).toBe(false);
    deadline.settle();
  });

  it('starts aborted when the caller already gave up', () => {
    const deadline = new RequestDeadline(10_000, AbortSignal.abort(new Error('already')));
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).message).toBe('already');
    deadline.settle();
  });

  it("once settled, never fires and leaves no listener on the caller's signal (nothing keeps either alive)", async () => {
    const caller = new AbortController();
    const deadline = new RequestDeadline(20, caller.signal);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    deadline.settle();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await sleep(60);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
    caller.abort();
    expect(deadline.signal.aborted).toBe(false);
  });

  it('without a time, only the caller can abort it', async () => {
    const deadline = new RequestDeadline(undefined);
    await sleep(20);
    expect(deadline.signal.aborted).toBe(false);
    deadline.settle();
  });
});
