#!/usr/bin/env node
import { parseAddress } from '../operator/http-server.js';
import { freeAddress } from './free-address.js';

/**
 * `node dist/src/cli/dev-addresses.js --metrics-address=:8080 --health-address=:8081`
 * (hack/start.sh, for the addresses the user did not set): prints each flag
 * on its own line with an address that can be served now, the given one when
 * it is free, else the next free port above it, and says on stderr which it
 * moved. So a second `npm start` on one machine serves beside the first
 * instead of dying on EADDRINUSE. An address with no free port near it is
 * printed unchanged: the operator then fails with an error naming the flag.
 */
async function main(args: string[]): Promise<void> {
  const wanted = args.map((arg) => {
    const match = /^(--[a-z-]+-address)=(.*)$/.exec(arg);
    if (!match) throw new Error(`want --NAME-address=HOST:PORT, got ${JSON.stringify(arg)}`);
    return { flag: match[1]!, address: match[2]!, port: parseAddress(match[2]!).port };
  });
  const picked = new Set<number>();
  const lines: string[] = [];
  for (const { flag, address } of wanted) {
    // A moved address skips the ports picked so far and the ports the other flags want.
    const taken = new Set([...picked, ...wanted.filter((w) => w.flag !== flag).map((w) => w.port)]);
    const chosen = (await freeAddress(address, taken)) ?? address;
    picked.add(parseAddress(chosen).port);
    if (chosen !== address) process.stderr.write(`configpush-operator: ${address} is in use (another npm start?); using ${flag}=${chosen}\n`);
    lines.push(`${flag}=${chosen}`);
  }
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`dev-addresses: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
