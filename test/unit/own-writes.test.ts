import { describe, expect, it } from 'vitest';
import { objectId, OwnWrites } from '../../src/runtime/own-writes.js';

const cm = objectId('ConfigMap', 'ns', 'app');

describe('OwnWrites', () => {
  it('recognises the echo of our write once, and nothing else', () => {
    const writes = new OwnWrites();
    writes.record(cm, '10');
    expect(writes.isEcho(cm, '9')).toBe(false); // an older version still in flight on the watch
    expect(writes.isEcho(cm, '10')).toBe(true);
    expect(writes.isEcho(cm, '10')).toBe(false); // a second delivery (relist) is not swallowed again
    expect(writes.size).toBe(0);
  });

  it('keeps several pending writes of one object (finalizer, then status) and settles the older ones with a newer echo', () => {
    const writes = new OwnWrites();
    const push = objectId('ConfigPush', 'ns', 'p');
    writes.record(push, '20');
    writes.record(push, '22');
    writes.record(push, '25');
    expect(writes.isEcho(push, '20')).toBe(true);
    expect(writes.isEcho(push, '21')).toBe(false); // someone else's change in between queues the push
    expect(writes.isEcho(push, '25')).toBe(true); // 22's echo was skipped by a relist: settled too
    expect(writes.isEcho(push, '22')).toBe(false);
    expect(writes.size).toBe(0);
  });

  it('does not confuse objects, and forgets a deleted one', () => {
    const writes = new OwnWrites();
    const other = objectId('Secret', 'ns', 'app');
    writes.record(cm, '5');
    expect(writes.isEcho(other, '5')).toBe(false);
    writes.forget(cm);
    expect(writes.isEcho(cm, '5')).toBe(false);
  });

  it('ignores writes without a resourceVersion and bounds what it keeps per object', () => {
    const writes = new OwnWrites();
    writes.record(cm, undefined);
    expect(writes.size).toBe(0);
    for (let rv = 1; rv <= 100; rv++) writes.record(cm, String(rv));
    expect(writes.isEcho(cm, '1')).toBe(false); // dropped: only the newest few are kept
    expect(writes.isEcho(cm, '100')).toBe(true);
    expect(writes.size).toBe(0);
  });

  it('holds events that arrive while the push is reconciled (the echo outruns the response) and judges them at the end', () => {
    const writes = new OwnWrites();
    const push = objectId('ConfigPush', 'ns', 'p');
    // During the reconcile: the target's echo arrives before our create returned.
    expect(writes.shouldQueue('ns/p', cm, '31', true)).toBe(false);
    writes.record(cm, '31');
    writes.record(push, '32');
    expect(writes.release('ns/p')).toBe(false); // only our own write came back
    expect(writes.shouldQueue('ns/p', push, '32', false)).toBe(false); // the status echo, after the reconcile
    expect(writes.size).toBe(0);

    // A third party's change during a reconcile queues the push when it ends.
    expect(writes.shouldQueue('ns/p', cm, '40', true)).toBe(false);
    writes.record(cm, '41');
    expect(writes.release('ns/p')).toBe(true);
    expect(writes.release('ns/p')).toBe(false); // released once
    // Outside a reconcile, a change that is not ours queues at once.
    expect(writes.shouldQueue('ns/p', cm, '50', false)).toBe(true);
  });
});
