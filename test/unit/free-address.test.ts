import { describe, expect, it } from 'vitest';
import { freeAddress, SCAN, type CanListen } from '../../src/cli/free-address.js';

/** A machine where only `busy` ports are held; records what was probed. */
function machine(...busy: number[]) {
  const probed: Array<[string, number]> = [];
  const canListen: CanListen = async (host, port) => {
    probed.push([host, port]);
    return !busy.includes(port);
  };
  return { canListen, probed };
}

/** What `npm start` (hack/start.sh, src/cli/dev-addresses.ts) serves on when the defaults may be taken. */
describe('freeAddress', () => {
  it('keeps the wanted address when it is free', async () => {
    const { canListen, probed } = machine();
    expect(await freeAddress(':8080', new Set(), canListen)).toBe(':8080');
    expect(probed).toEqual([['0.0.0.0', 8080]]);
  });

  it('moves to the next free port above a held one, on the same host', async () => {
    const { canListen } = machine(8080, 8081, 8082);
    expect(await freeAddress(':8080', new Set(), canListen)).toBe(':8083');
    expect(await freeAddress('127.0.0.1:8080', new Set(), canListen)).toBe('127.0.0.1:8083');
  });

  it('skips ports taken by the other endpoint without probing them', async () => {
    const { canListen, probed } = machine(8080);
    expect(await freeAddress(':8080', new Set([8081, 8082]), canListen)).toBe(':8083');
    expect(probed.map(([, port]) => port)).toEqual([8080, 8083]);
  });

  it('gives up after SCAN ports above the wanted one (the operator then names the flag)', async () => {
    const { canListen, probed } = machine(...Array.from({ length: SCAN + 1 }, (_, i) => 9000 + i));
    expect(await freeAddress(':9000', new Set(), canListen)).toBeUndefined();
    expect(probed).toHaveLength(SCAN + 1);
    expect(await freeAddress(':65535', new Set(), machine(65535).canListen)).toBeUndefined();
  });

  it('takes port 0 (any free port) as it is, and refuses an address that is not HOST:PORT', async () => {
    const { canListen, probed } = machine();
    expect(await freeAddress(':0', new Set(), canListen)).toBe(':0');
    expect(probed).toEqual([]);
    await expect(freeAddress('8080', new Set(), canListen)).rejects.toThrow(/want HOST:PORT or :PORT/);
  });
});
