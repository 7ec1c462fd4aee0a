import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionReusingAuth, sameTlsIdentity, tlsIdentity } from '../../src/kube/connection-reuse.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeConfig(cert: string, server = 'https://127.0.0.1:6443'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: b64('ca'), skipTLSVerify: false }],
    users: [{ name: 'u', certData: b64(cert), keyData: b64(`key of ${cert}`) }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** undici's Agent has a `closed` flag that client-node's Dispatcher type leaves out. */
const isClosed = (dispatcher: unknown): boolean => (dispatcher as { closed: boolean }).closed;

async function dispatcherFor(auth: ConnectionReusingAuth) {
  const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces', HttpMethod.GET);
  await auth.applySecurityAuthentication(context);
  return context.getDispatcher();
}

describe('ConnectionReusingAuth', () => {
  it('hands every request the same connection pool while the TLS identity is unchanged', async () => {
    const auth = new ConnectionReusingAuth(kubeConfig('cert-1'));
    const first = await dispatcherFor(auth);
    expect(first).toBeDefined();
    for (let i = 0; i < 5; i++) expect(await dispatcherFor(auth)).toBe(first);
    await auth.close();
    expect(isClosed(first)).toBe(true);
  });

  it('switches to a new pool and closes the old one when the client certificate rotates, within the reuse window', async () => {
    const kc = kubeConfig('cert-1');
    let clock = 0;
    const auth = new ConnectionReusingAuth(kc, 1_000, () => clock);
    const before = await dispatcherFor(auth);
    const user = kc.getCurrentUser();
    if (!user) throw new Error('no user');
    (user as { certData?: string }).certData = b64('cert-2'); // what a reloaded kubeconfig or rotated file shows
    clock = 999;
    expect(await dispatcherFor(auth)).toBe(before); // the last answer still serves
    clock = 1_000;
    const after = await dispatcherFor(auth);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(isClosed(before)).toBe(true);
    expect(isClosed(after)).toBe(false);
    expect(await dispatcherFor(auth)).toBe(after);
    await auth.close();
  });

  it('keeps the kubeconfig authentication headers (a token per request)', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: b64('ca'), skipTLSVerify: false }],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const auth = new ConnectionReusingAuth(kc);
    const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
    await auth.applySecurityAuthentication(context);
    expect(context.getHeaders().Authorization).toBe('Bearer secret-token');
    await auth.close();
  });
});

describe('ConnectionReusingAuth asks the kubeconfig once per reuse window', () => {
  function tokenConfig(token: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: b64('ca'), skipTLSVerify: false }],
      users: [{ name: 'u', token, impersonateUser: 'jane' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  }

  /** Counts the kubeconfig's own authentications (each builds an undici Agent and decodes the TLS material). */
  function countAsks(kc: KubeConfig): { asks: number } {
    const counter = { asks: 0 };
    const own = kc.applySecurityAuthentication.bind(kc);
    kc.applySecurityAuthentication = async (context: RequestContext) => {
      counter.asks++;
      await own(context);
    };
    return counter;
  }

  async function headersOf(auth: ConnectionReusingAuth): Promise<Record<string, string>> {
    const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/a/configmaps', HttpMethod.POST);
    await auth.applySecurityAuthentication(context);
    return context.getHeaders();
  }

  it('serves every request of the window with the same headers and pool as the one that asked', async () => {
    const kc = tokenConfig('token-1');
    const counter = countAsks(kc);
    let clock = 0;
    const auth = new ConnectionReusingAuth(kc, 1_000, () => clock);
    const first = await headersOf(auth);
    expect(first).toMatchObject({ Authorization: 'Bearer token-1', 'Impersonate-User': 'jane' });
    const pool = await dispatcherFor(auth);
    for (let i = 0; i < 5; i++) expect(await headersOf(auth)).toEqual(first);
    expect(await dispatcherFor(auth)).toBe(pool);
    expect(counter.asks).toBe(1);
    clock = 1_000;
    await headersOf(auth);
    expect(counter.asks).toBe(2);
    await auth.close();
  });

  it('takes a rotated token at the end of the window, or at once after a 401', async () => {
    const kc = tokenConfig('token-1');
    let clock = 0;
    const auth = new ConnectionReusingAuth(kc, 1_000, () => clock);
    expect((await headersOf(auth)).Authorization).toBe('Bearer token-1');
    (kc.getCurrentUser() as { token?: string }).token = 'token-2';
    expect((await headersOf(auth)).Authorization).toBe('Bearer token-1');
    auth.answered(403); // refused, not unauthenticated: the credentials stand
    expect((await headersOf(auth)).Authorization).toBe('Bearer token-1');
    auth.answered(401);
    expect((await headersOf(auth)).Authorization).toBe('Bearer token-2');
    (kc.getCurrentUser() as { token?: string }).token = 'token-3';
    clock = 1_000;
    expect((await headersOf(auth)).Authorization).toBe('Bearer token-3');
    await auth.close();
  });

  it('does not keep an answer that was being asked for when a 401 came back', async () => {
    const kc = tokenConfig('token-1');
    const counter = countAsks(kc);
    const auth = new ConnectionReusingAuth(kc, 60_000);
    const asking = headersOf(auth);
    auth.answered(401); // an older request's answer, while this one's authentication is under way
    await asking;
    await headersOf(auth);
    expect(counter.asks).toBe(2);
    await headersOf(auth);
    expect(counter.asks).toBe(2);
    await auth.close();
  });

  it('asks again once a condemned pool is replaced', async () => {
    const kc = tokenConfig('token-1');
    const counter = countAsks(kc);
    const auth = new ConnectionReusingAuth(kc, 60_000);
    const pool = await dispatcherFor(auth);
    auth.timedOut(pool!, performance.now() - 1);
    const next = await dispatcherFor(auth);
    expect(next).not.toBe(pool);
    expect(counter.asks).toBe(2);
    await auth.close();
  });
});

describe('ConnectionReusingAuth as the pool health the request library reports to', () => {
  /** One request's dispatcher and send time; the request library reports how it ended. */
  async function send(auth: ConnectionReusingAuth) {
    const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
    await auth.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher()!;
    const sentAt = performance.now();
    return { dispatcher, timeOut: () => auth.timedOut(dispatcher, sentAt) };
  }

  it('condemns a pool on which a request timed out with nothing answered since it was sent', async () => {
    const auth = new ConnectionReusingAuth(kubeConfig('cert-1'));
    const hung = await send(auth);
    hung.timeOut();
    await new Promise((resolve) => setImmediate(resolve));
    expect((hung.dispatcher as unknown as { destroyed: boolean }).destroyed).toBe(true);
    const next = await send(auth);
    expect(next.dispatcher).toBeDefined();
    expect(next.dispatcher).not.toBe(hung.dispatcher);
    await auth.close();
  });

  it('keeps a pool that answered after the request was sent', async () => {
    const auth = new ConnectionReusingAuth(kubeConfig('cert-1'));
    const slow = await send(auth);
    await new Promise((resolve) => setTimeout(resolve, 2));
    auth.answered(200); // the pool is alive: one slow request is not its fault
    slow.timeOut();
    const next = await send(auth);
    expect(next.dispatcher).toBe(slow.dispatcher);
    expect((slow.dispatcher as unknown as { destroyed: boolean }).destroyed).toBe(false);
    await auth.close();
  });

  it('ignores a timeout on a dispatcher that is not its pool', async () => {
    const auth = new ConnectionReusingAuth(kubeConfig('cert-1'));
    const pooled = await send(auth);
    const other = new Agent();
    auth.timedOut(other as unknown as typeof pooled.dispatcher, performance.now() - 1_000);
    expect((await send(auth)).dispatcher).toBe(pooled.dispatcher);
    await other.close();
    await auth.close();
  });
});

describe('tlsIdentity', () => {
  const same = (a: KubeConfig, b: KubeConfig) => sameTlsIdentity(tlsIdentity(a), tlsIdentity(b));

  it('depends on the server and the certificate, not on anything per request', () => {
    expect(same(kubeConfig('cert-1'), kubeConfig('cert-1'))).toBe(true);
    expect(same(kubeConfig('cert-1'), kubeConfig('cert-2'))).toBe(false);
    expect(same(kubeConfig('cert-1'), kubeConfig('cert-1', 'https://10.0.0.1:6443'))).toBe(false);
  });

  it('reads named files on every call, so a certificate rotated on disk is a new identity', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-identity-'));
    try {
      for (const [file, text] of [['ca.crt', 'ca'], ['tls.crt', 'cert-1'], ['tls.key', 'key-1']] as const) writeFileSync(join(dir, file), text);
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
        users: [{ name: 'u', certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const before = tlsIdentity(kc);
      expect(sameTlsIdentity(before, tlsIdentity(kc))).toBe(true);
      writeFileSync(join(dir, 'tls.key'), 'key-2');
      expect(sameTlsIdentity(before, tlsIdentity(kc))).toBe(false);
      writeFileSync(join(dir, 'tls.key'), 'key-1'); // rotated back: the same bytes are the same identity
      expect(sameTlsIdentity(before, tlsIdentity(kc))).toBe(true);
      writeFileSync(join(dir, 'ca.crt'), 'ca-2');
      expect(sameTlsIdentity(before, tlsIdentity(kc))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a file apart from inline data, and either from none', () => {
    const inline = kubeConfig('cert-1');
    const none = new KubeConfig();
    none.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(same(inline, none)).toBe(false);
    expect(same(none, none)).toBe(true);
  });
});

describe('ConnectionReusingAuth, the pool on a real TLS connection', () => {
  let server: Http2SecureServer;
  let dir: string;
  let url: string;
  let ca: string;

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1, and a server that offers both protocols (ALPN h2 and http/1.1), as the apiserver does.
    dir = mkdtempSync(join(tmpdir(), 'cp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createSecureServer({ allowHTTP1: true, key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ httpVersion: req.httpVersion }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsKubeConfig = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, caData: b64(ca), skipTLSVerify: false }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kc;
  };

  /** The HTTP version the server saw, for a request on the dispatcher the auth picked. */
  async function versionSeen(auth: SecurityAuthentication): Promise<string> {
    const context = new RequestContext(`${url}/version`, HttpMethod.GET);
    await auth.applySecurityAuthentication(context);
    const response = await (context.getDispatcher() as unknown as Dispatcher).request({ origin: url, path: '/version', method: 'GET' });
    return ((await response.body.json()) as { httpVersion: string }).httpVersion;
  }

  it('speaks HTTP/1.1 where client-node alone would take the HTTP/2 the server offers, with the kubeconfig CA', async () => {
    const kc = tlsKubeConfig();
    // The control: client-node's own per-request Agent negotiates HTTP/2 with this server.
    expect(await versionSeen(kc)).toBe('2.0');
    const auth = new ConnectionReusingAuth(kc);
    expect(await versionSeen(auth)).toBe('1.1');
    expect(await versionSeen(auth)).toBe('1.1');
    await auth.close();
  });

  it('builds one pool for requests that arrive together before it exists', async () => {
    const auth = new ConnectionReusingAuth(tlsKubeConfig());
    const contexts = Array.from({ length: 8 }, () => new RequestContext(`${url}/version`, HttpMethod.GET));
    await Promise.all(contexts.map((context) => auth.applySecurityAuthentication(context)));
    const pools = new Set(contexts.map((context) => context.getDispatcher()));
    expect(pools.size).toBe(1);
    const [pool] = pools;
    expect(isClosed(pool)).toBe(false);
    await auth.close();
    expect(isClosed(pool)).toBe(true);
  });
});
