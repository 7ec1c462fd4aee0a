import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOWED_SOURCES_ANNOTATION, ANNOTATION } from '../../src/api/constants.js';
import { contentDigest } from '../../src/core/content-digest.js';
import { condition, core, createPush, eventually, getPush, newNamespace, readSecret, sleep, waitReady, waitReason } from '../support/kube.js';
import { settled, startTestOperator, type TestOperator } from '../support/operator.js';
import { freePorts } from '../support/free-port.js';

/*
 * A Secret's values, copied by spec.sources, must never reach anything a
 * reader of the ConfigPush or of the operator's output can see: the push
 * (spec and status), Events, the operator's log, its metrics. The test
 * drives the push through its states (applied, source changed, drift
 * corrected, source missing, source back) with the log at trace level, then
 * searches everything for the values and their base64.
 */

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('secrecy of copied Secret values', () => {
  let operator: TestOperator;
  let pushNs: string;
  let targetNs: string;
  let metricsUrl: string;
  const logLines: string[] = [];
  const first = `first-S3CRET-${randomBytes(12).toString('hex')}`;
  const second = `second-S3CRET-${randomBytes(12).toString('hex')}`;
  // A low-entropy secret, the case a plain digest would let a reader of the push guess.
  const pin = '4711';

  beforeAll(async () => {
    pushNs = await newNamespace('secrecy');
    targetNs = await newNamespace('secrecy-target', { [ALLOWED_SOURCES_ANNOTATION]: pushNs });
    const [port, healthPort] = (await freePorts(2)) as [number, number];
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    operator = await startTestOperator({
      log: pino({ level: 'trace' }, sink),
      http: { metricsAddress: `127.0.0.1:${port}`, healthAddress: `127.0.0.1:${healthPort}` },
    });
  });
  afterAll(async () => operator?.stop());

  it('never shows the values or their base64 in the push, Events, logs or metrics', async () => {
    await core.createNamespacedSecret({ namespace: pushNs, body: { metadata: { name: 'creds' }, data: { token: b64(first), pin: b64(pin) } } });
    await createPush(pushNs, 'creds', {
      targets: [{ kind: 'Secret', name: 'creds-copy' }, { kind: 'Secret', name: 'creds', namespace: targetNs }],
      sources: [{ secretRef: { name: 'creds' }, items: [{ key: 'token', as: 'API_TOKEN' }, { key: 'pin' }] }],
    });
    const applied = await waitReady(pushNs, 'creds');
    expect((await readSecret(targetNs, 'creds'))?.data).toEqual({ API_TOKEN: b64(first), pin: b64(pin) });

    // The digests readers of the push see are keyed: the plain sha256 of the content (what anyone could compute from a guess) is nowhere.
    const guessable = contentDigest({ data: {}, binaryData: { API_TOKEN: b64(first), pin: b64(pin) }, labels: {}, annotations: {} });
    expect(applied.status?.contentDigest).toMatch(/^hmac-sha256:/);
    expect(JSON.stringify(applied)).not.toContain(guessable.replace('sha256:', ''));
    expect((await readSecret(targetNs, 'creds'))?.metadata?.annotations?.[ANNOTATION.contentDigest]).toBe(applied.status?.contentDigest);

    // The source changes: a new operation.
    const live = await core.readNamespacedSecret({ namespace: pushNs, name: 'creds' });
    await core.replaceNamespacedSecret({ namespace: pushNs, name: 'creds', body: { ...live, data: { token: b64(second), pin: b64(pin) } } });
    await eventually(async () => (await readSecret(targetNs, 'creds'))?.data?.API_TOKEN === b64(second), 'the new value to be copied');
    await waitReady(pushNs, 'creds');

    // Someone edits a target: drift, corrected (an Event names it).
    const target = await core.readNamespacedSecret({ namespace: targetNs, name: 'creds' });
    await core.replaceNamespacedSecret({ namespace: targetNs, name: 'creds', body: { ...target, data: { API_TOKEN: b64('tampered'), pin: b64(pin) } } });
    await eventually(async () => (await readSecret(targetNs, 'creds'))?.data?.API_TOKEN === b64(second), 'the drift to be corrected');

    // The source goes (Warning Event, status message), and comes back.
    await core.deleteNamespacedSecret({ namespace: pushNs, name: 'creds' });
    const stopped = await waitReason(pushNs, 'creds', 'SourceNotFound');
    expect(condition(stopped, 'Ready')?.message).toContain('creds');
    await core.createNamespacedSecret({ namespace: pushNs, body: { metadata: { name: 'creds' }, data: { token: b64(second), pin: b64(pin) } } });
    await waitReady(pushNs, 'creds');
    await settled(operator);

    const push = await getPush(pushNs, 'creds');
    // Events are queued behind the reconciles' status writes: wait for the two this story must have made.
    const allEvents = async () => [
      ...(await core.listNamespacedEvent({ namespace: pushNs })).items,
      ...(await core.listNamespacedEvent({ namespace: targetNs })).items,
    ];
    await eventually(async () => {
      const list = await allEvents();
      const corrected = list.some((e) => e.reason === 'DriftCorrected');
      const warned = list.some((e) => e.type === 'Warning' && (e.message ?? '').includes('creds'));
      return corrected && warned;
    }, 'a DriftCorrected Event and a Warning naming the source', 5_000);
    // ...and for the rest still queued to land, so the scan below covers every Event the story made: the list (and
    // each Event's count) unchanged across half a second.
    let events = await allEvents();
    const shape = (list: typeof events) => list.map((e) => `${e.metadata?.name}:${e.count ?? 1}`).sort().join();
    await eventually(async () => {
      await sleep(500);
      const again = await allEvents();
      const quiet = shape(again) === shape(events);
      events = again;
      return quiet;
    }, 'the Events to stop changing', 10_000);
    const metrics = await (await fetch(metricsUrl)).text();
    const log = logLines.join('');
    expect(log).toContain('target written'); // the capture holds the operator's log
    expect(metrics).toContain('configpush_');

    const places: [string, string][] = [
      ['the ConfigPush', JSON.stringify(push)],
      ['Events', JSON.stringify(events)],
      ['the operator log', log],
      ['/metrics', metrics],
    ];
    for (const [where, text] of places) {
      for (const value of [first, second]) {
        expect(text.includes(value), `${where} contains a secret value`).toBe(false);
        expect(text.includes(b64(value)), `${where} contains a secret value's base64`).toBe(false);
      }
      expect(text.includes(b64(pin)), `${where} contains the pin's base64`).toBe(false);
    }
    // Status names the source, never a value.
    expect(push.status?.sources).toEqual([{ kind: 'Secret', namespace: pushNs, name: 'creds', revision: expect.stringMatching(/^[0-9a-f]{12}$/) }]);
  });
});
