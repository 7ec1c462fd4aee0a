/**
 * What the connection-reusing wrapper (src/kube/connection-reuse.ts) adds to
 * each API call, against what client-node's own authentication of the same
 * call costs, measured in the same process.
 *
 * Every request the operator makes goes through
 * ConnectionReusingAuth.applySecurityAuthentication: client-node's
 * KubeConfig.applySecurityAuthentication (headers, token, a fresh Agent), then
 * the wrapper's check that the TLS material is unchanged, then the swap to
 * the kept pool. A CPU profile of a 5,000-namespace fan-out put ~2.8% of the
 * operator's busy time in that check alone. This script times, per call, the
 * bare client-node authentication (the baseline) and the wrapper around it,
 * for a kubeconfig with inline certificates (hack/cluster.sh's, the bench's)
 * and one that names files (as in a pod: the CA file, and here a client
 * certificate and key on disk), in alternating rounds. Certificates are a
 * real RSA-2048 pair made with openssl, so the sizes are those of a cluster.
 *
 *   npx tsc -p tsconfig.json --outDir .cache/bench-dist && node hack/bundle-client-node.mjs .cache/bench-dist
 *   node .cache/bench-dist/bench/request-auth-cost.js [--calls 20000] [--rounds 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { ConnectionReusingAuth } from '../src/kube/connection-reuse.js';
import { median, round } from './stats.js';

const SERVER = 'https://127.0.0.1:6443';

type Authenticate = (context: RequestContext) => Promise<void>;

function kubeConfigs(dir: string): Record<'inline' | 'files', KubeConfig> {
  const file = (name: string) => join(dir, name);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=bench', '-keyout', file('tls.key'), '-out', file('tls.crt')], { stdio: 'ignore' });
  const base64 = (name: string) => readFileSync(file(name)).toString('base64');
  const build = (cluster: object, user: object) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: SERVER, skipTLSVerify: false, ...cluster }],
      users: [{ name: 'u', ...user }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };
  return {
    inline: build({ caData: base64('tls.crt') }, { certData: base64('tls.crt'), keyData: base64('tls.key') }),
    files: build({ caFile: file('tls.crt') }, { certFile: file('tls.crt'), keyFile: file('tls.key') }),
  };
}

/** Microseconds per call of `authenticate`, over `calls` calls. */
async function perCall(authenticate: Authenticate, calls: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < calls; i++) await authenticate(new RequestContext(`${SERVER}/api/v1/namespaces/bench/configmaps/c${i}`, HttpMethod.GET));
  return ((performance.now() - started) * 1000) / calls;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } } });
  const calls = Number(values.calls);
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'bench-auth-'));
  try {
    console.log(`| kubeconfig | client-node's authentication, µs a call (baseline) | with the wrapper, µs a call | the wrapper's own, µs a call | ratio |`);
    console.log('|---|---|---|---|---|');
    for (const [name, kc] of Object.entries(kubeConfigs(dir))) {
      const wrapper = new ConnectionReusingAuth(kc);
      const sides: Record<'bare' | 'wrapped', Authenticate> = {
        bare: (context) => kc.applySecurityAuthentication(context),
        wrapped: (context) => wrapper.applySecurityAuthentication(context),
      };
      // Warm both paths up (V8's optimizing tiers, the pool built once) before anything is timed.
      await perCall(sides.bare, calls);
      await perCall(sides.wrapped, calls);
      const times: Record<'bare' | 'wrapped', number[]> = { bare: [], wrapped: [] };
      for (let r = 0; r < rounds; r++) {
        // The order turns each round, so neither side always runs on a warmer process.
        for (const side of r % 2 === 0 ? (['bare', 'wrapped'] as const) : (['wrapped', 'bare'] as const)) times[side].push(await perCall(sides[side], calls));
        process.stderr.write(`request-auth-cost: ${name} round ${r + 1}: bare ${round(times.bare.at(-1)!, 2)} µs, wrapped ${round(times.wrapped.at(-1)!, 2)} µs\n`);
      }
      await wrapper.close();
      const bare = median(times.bare);
      const wrapped = median(times.wrapped);
      console.log(`| ${name} | ${round(bare, 2)} | ${round(wrapped, 2)} | ${round(wrapped - bare, 2)} | ${round(wrapped / bare, 2)} |`);
    }
    console.log(`\nMedians of ${rounds} alternating rounds of ${calls} calls each. Ratio = with the wrapper / client-node's alone (1.00: the wrapper adds nothing).`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
