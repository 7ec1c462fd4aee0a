import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { contentDigest, type DesiredContent } from '../../src/core/content-digest.js';
import { renderTarget, type TargetObject } from '../../src/core/desired-target.js';
import { planTarget, type PlanInput } from '../../src/core/target-plan.js';

const content: DesiredContent = { data: { a: '1' }, binaryData: {}, labels: { team: 'x' }, annotations: {} };
const digest = contentDigest(content);
const ownership = { ownerUid: 'uid-1', owner: 'ns/push', operationKey: '1-abcdef0123', generation: 1, contentDigest: digest };

/** The object as the apiserver would return it after our write. */
const written = (c = content, o = ownership): TargetObject => ({
  ...renderTarget('ConfigMap', 'cm', 'ns', c, o, undefined),
  metadata: { ...renderTarget('ConfigMap', 'cm', 'ns', c, o, undefined).metadata, resourceVersion: '10', uid: 'obj-uid' },
});

const input = (live: TargetObject | undefined, over: Partial<PlanInput> = {}): PlanInput => ({
  kind: 'ConfigMap',
  live,
  ownerUid: 'uid-1',
  generation: 1,
  content,
  digest,
  adopt: false,
  driftPolicy: 'Correct',
  ...over,
});

describe('planTarget', () => {
  it('creates a missing target', () => {
    expect(planTarget(input(undefined))).toEqual({ action: 'create' });
  });

  it('treats a deletion of a written target as drift: recreated under Correct, only reported under Report', () => {
    expect(planTarget(input(undefined, { previouslyWritten: true }))).toEqual({ action: 'create' });
    expect(planTarget(input(undefined, { previouslyWritten: true, driftPolicy: 'Report' }))).toEqual({ action: 'report-drift' });
    expect(planTarget(input(undefined, { driftPolicy: 'Report' }))).toEqual({ action: 'create' });
  });

  it('writes nothing when the target already carries our uid and this content (a retry after a lost response)', () => {
    expect(planTarget(input(written()))).toEqual({ action: 'none' });
  });

  it('writes nothing for a new generation with the same content', () => {
    const olderKey = written(content, { ...ownership, operationKey: '1-abcdef0123' });
    expect(planTarget(input(olderKey))).toEqual({ action: 'none' });
  });

  it('updates for new content', () => {
    const next = { ...content, data: { a: '2' } };
    expect(planTarget(input(written(), { content: next, digest: contentDigest(next) }))).toEqual({ action: 'update', reason: 'new-content' });
  });

  it('treats an edited target with our digest as drift, corrected or reported per policy', () => {
    const live = written();
    (live.data as Record<string, string>).a = 'tampered';
    expect(planTarget(input(live))).toEqual({ action: 'update', reason: 'drift' });
    expect(planTarget(input(live, { driftPolicy: 'Report' }))).toEqual({ action: 'report-drift' });
  });

  it('treats an extra key as drift (full replacement)', () => {
    const live = written();
    (live.data as Record<string, string>).extra = 'x';
    expect(planTarget(input(live))).toEqual({ action: 'update', reason: 'drift' });
  });

  it('refuses a target owned by another push, naming it', () => {
    const other = written(content, { ...ownership, ownerUid: 'uid-2', owner: 'ns/other' });
    expect(planTarget(input(other))).toEqual({ action: 'conflict', owner: 'ns/other' });
    expect(planTarget(input(other, { adopt: true }))).toEqual({ action: 'conflict', owner: 'ns/other' });
  });

  it('leaves an unmanaged target alone unless adopt is set', () => {
    const unmanaged: TargetObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'ns', resourceVersion: '3' }, data: { old: 'x' } };
    expect(planTarget(input(unmanaged))).toEqual({ action: 'conflict', owner: 'unmanaged' });
    expect(planTarget(input(unmanaged, { adopt: true }))).toEqual({ action: 'update', reason: 'adopt' });
  });
});

describe('renderTarget', () => {
  it('replaces data in full and stamps the markers in the same object', () => {
    const live: TargetObject = {
      metadata: { name: 'cm', namespace: 'ns', resourceVersion: '5', labels: { other: 'tool' }, annotations: { note: 'kept' } },
      data: { stale: 'gone', a: 'old' },
    };
    const body = renderTarget('ConfigMap', 'cm', 'ns', content, ownership, live);
    expect(body.data).toEqual({ a: '1' });
    expect(body.metadata?.resourceVersion).toBe('5');
    expect(body.metadata?.labels).toMatchObject({ other: 'tool', team: 'x' });
    expect(body.metadata?.annotations).toMatchObject({ note: 'kept', [ANNOTATION.operationKey]: ownership.operationKey, [ANNOTATION.contentDigest]: digest });
  });

  it('removes labels the spec no longer sets, but not labels other tools own', () => {
    const first = written();
    const next = { ...content, labels: { tier: 'web' } };
    first.metadata!.labels!.other = 'tool';
    const body = renderTarget('ConfigMap', 'cm', 'ns', next, { ...ownership, contentDigest: contentDigest(next) }, first);
    expect(body.metadata?.labels?.team).toBeUndefined();
    expect(body.metadata?.labels).toMatchObject({ tier: 'web', other: 'tool' });
  });

  it('encodes Secret data as base64 of the UTF-8 text, and passes binaryData through', () => {
    const secretContent = { ...content, data: { t: 'héllo' }, binaryData: { b: 'AAH/' } };
    const body = renderTarget('Secret', 's', 'ns', secretContent, ownership, undefined);
    expect(body.data).toEqual({ t: Buffer.from('héllo').toString('base64'), b: 'AAH/' });
    expect((body as { type?: string }).type).toBe('Opaque');
  });

  it('refuses to act on a stale view: the target already carries a later generation of this push', () => {
    const newer = written(content, { ...ownership, operationKey: '3-0123456789' });
    // A replica (or a lagging cache) still holding generation 2 must not write generation 2's content back.
    expect(planTarget(input(newer, { generation: 2, digest: 'sha256:other', content: { ...content, data: { a: 'old' } } }))).toEqual({
      action: 'stale',
      liveGeneration: 3,
    });
    // The same generation, or an older one on the target, is decided as usual.
    expect(planTarget(input(newer, { generation: 3 }))).toEqual({ action: 'none' });
    expect(planTarget(input(written(), { generation: 2, digest: 'sha256:new', content: { ...content, data: { a: 'new' } } }))).toEqual({
      action: 'update',
      reason: 'new-content',
    });
  });
});
