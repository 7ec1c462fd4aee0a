import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../src/api/constants.js';
import { ownerOf, shareOwnerStrings } from '../../src/configpush/owner-strings.js';

const target = (owner: string | undefined, ownerUid = 'push-uid', name = 'app-config'): V1ConfigMap =>
  JSON.parse(JSON.stringify({ metadata: { name, namespace: 'ns-1', annotations: { ...(owner !== undefined ? { [ANNOTATION.owner]: owner } : {}), [ANNOTATION.ownerUid]: ownerUid } } })) as V1ConfigMap;
const push = JSON.parse(JSON.stringify({ metadata: { name: 'p', namespace: 'team', uid: 'push-uid' }, spec: { targets: [{ kind: 'ConfigMap', name: 'app-config' }] } }));

describe('a cached target shares its push\'s strings', () => {
  it('reads the owner annotation as namespace/name, and nothing malformed', () => {
    expect(ownerOf(target('team/p'))).toEqual({ namespace: 'team', name: 'p' });
    for (const bad of [undefined, '', 'p', '/p', 'team/', 'a/b/c']) expect(ownerOf(target(bad))).toBeUndefined();
  });

  it('takes the push\'s uid and name where equal; values unchanged; another uid or name stays as it is', () => {
    const same = target('team/p');
    shareOwnerStrings(same, push);
    expect(same).toEqual(target('team/p'));
    const other = target('team/p', 'other-uid', 'other-name');
    shareOwnerStrings(other, push);
    expect(other).toEqual(target('team/p', 'other-uid', 'other-name'));
    const alone = target('team/p');
    shareOwnerStrings(alone, undefined); // the push is not cached (yet)
    expect(alone).toEqual(target('team/p'));
  });
});
