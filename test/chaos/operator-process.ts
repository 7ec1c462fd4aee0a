import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { imageNodeFlags } from '../support/image.js';
import { repoRoot } from '../support/paths.js';
import { operatorMain, runDir } from './profile.js';

/**
 * The operator as a real process (`node dist/src/main.js`), as it runs in a
 * pod: it can be SIGKILLed at any instant and started again. Its JSON log
 * lines are appended to one file per harness and parsed as they come, so a
 * scenario can count target writes, errors and retries per incarnation.
 *
 * An exit that the harness did not ask for is a crash: it is recorded with
 * the tail of stderr, and scenarios assert there are none.
 */
export interface OperatorProcessOptions {
  /** Names the log file and the incarnations. */
  name: string;
  kubeconfig: string;
  workers?: number;
  requestTimeoutS?: number;
  /** Default: the operator's own (600 s), so no resync rescues a lost push during a scenario. */
  resyncPeriodS?: number;
  /** Serve /metrics on a free loopback port (read from the 'serving' log line). */
  metrics?: boolean;
  extraArgs?: string[];
  logLevel?: string;
  /** Extra environment, e.g. POD_NAME (the leader-election identity, also in the User-Agent the audit log records). */
  env?: Record<string, string>;
}

export interface Incarnation {
  pid: number;
  startedAt: number;
  /** When 'controller started' was logged (caches synced, workers running). */
  readyAt?: number;
  endedAt?: number;
  /** How it ended: 'SIGKILL' (a kill -9 by the harness), 'stopped' (SIGTERM by the harness), or 'crash'. */
  end?: 'SIGKILL' | 'stopped' | 'crash';
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  targetWrites: number;
  errors: number;
  retries: number;
  stderrTail: string;
}

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

const PIDS_FILE = () => join(runDir, 'pids');
const live = new Set<OperatorProcess>();

export class OperatorProcess {
  readonly incarnations: Incarnation[] = [];
  readonly logFile: string;
  private child: ChildProcess | undefined;
  private current: Incarnation | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: WriteStream;
  private readonly lineListeners = new Set<(line: LogLine) => void>();
  metricsPort: number | undefined;

  constructor(private readonly options: OperatorProcessOptions) {
    this.logFile = join(runDir, `${options.name}.log`);
    this.log = createWriteStream(this.logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get crashes(): Incarnation[] {
    return this.incarnations.filter((i) => i.end === 'crash');
  }

  /** Starts a new incarnation; with `waitReady`, resolves once its caches synced ('controller started'). */
  async start(waitReady = true, readyTimeoutMs = 60_000): Promise<Incarnation> {
    if (this.child) throw new Error(`${this.options.name} is already running`);
    const o = this.options;
    const args = [
      // What the image runs: its node flags too (Dockerfile ENTRYPOINT).
      ...imageNodeFlags(repoRoot),
      operatorMain,
      '--kubeconfig',
      o.kubeconfig,
      '--metrics-address',
      o.metrics ? '127.0.0.1:0' : '',
      '--health-address',
      '',
      '--workers',
      String(o.workers ?? 4),
      '--request-timeout',
      String(o.requestTimeoutS ?? 10),
      ...(o.resyncPeriodS !== undefined ? ['--resync-period', String(o.resyncPeriodS)] : []),
      ...(o.extraArgs ?? []),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: o.logLevel ?? 'info', ...o.env };
    // Leader election stays off unless a scenario passes --leader-elect itself.
    delete env.CONFIGPUSH_LEADER_ELECT;
    delete env.KUBECONFIG;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    if (child.pid === undefined) throw new Error(`could not start ${o.name}`);
    appendFileSync(PIDS_FILE(), `${child.pid}\n`);
    live.add(this);
    const incarnation: Incarnation = { pid: child.pid, startedAt: Date.now(), targetWrites: 0, errors: 0, retries: 0, stderrTail: '' };
    this.child = child;
    this.current = incarnation;
    this.incarnations.push(incarnation);
    this.log.write(`{"harness":"start","name":${JSON.stringify(o.name)},"pid":${child.pid},"time":${incarnation.startedAt}}\n`);

    let readyResolve: (() => void) | undefined;
    const ready = new Promise<void>((resolve) => (readyResolve = resolve));
    createInterface({ input: child.stdout }).on('line', (text) => {
      this.log.write(`${text}\n`);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (line.msg === 'target written') incarnation.targetWrites++;
      if (line.msg === 'reconcile will be retried') incarnation.retries++;
      if ((line.level ?? 0) >= 50) incarnation.errors++;
      if (line.msg === 'serving' && o.metrics) {
        const address = line.address as { port?: number } | undefined;
        if (typeof address?.port === 'number') this.metricsPort = address.port;
      }
      if (line.msg === 'controller started') {
        incarnation.readyAt = Date.now();
        readyResolve?.();
      }
      for (const listener of this.lineListeners) listener(line);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      incarnation.stderrTail = (incarnation.stderrTail + chunk.toString('utf8')).slice(-4_000);
    });
    this.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        incarnation.endedAt = Date.now();
        incarnation.exitCode = code;
        incarnation.signal = signal;
        incarnation.end ??= 'crash';
        this.log.write(`{"harness":"exit","pid":${child.pid},"code":${String(code)},"signal":${JSON.stringify(signal)},"end":"${incarnation.end}"}\n`);
        if (this.child === child) {
          this.child = undefined;
          this.current = undefined;
        }
        if (!this.child) live.delete(this);
        readyResolve?.();
        resolve();
      });
    });
    if (waitReady) {
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), readyTimeoutMs).unref());
      const result = await Promise.race([ready.then(() => 'ready' as const), timeout]);
      if (incarnation.end === 'crash') throw new Error(`${o.name} exited during start-up: ${incarnation.stderrTail}`);
      if (result === 'timeout') throw new Error(`${o.name} not ready after ${readyTimeoutMs} ms`);
    }
    return incarnation;
  }

  /** Resolves true once the current incarnation is ready, false if it ended or `timeoutMs` passed first. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const current = this.current;
      if (!current) return false;
      if (current.readyAt !== undefined) return true;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return false;
  }

  /** kill -9, and wait for the process to be gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.current) return;
    this.current.end = 'SIGKILL';
    child.kill('SIGKILL');
    await this.exited;
  }

  /** kill -9 now, synchronously (from inside a proxy's tap, at an exact request); the exit is awaited by the next start() or stop(). */
  kill9Now(): void {
    const child = this.child;
    if (!child || !this.current) return;
    this.current.end = 'SIGKILL';
    child.kill('SIGKILL');
  }

  /** Resolves once the current process (if any) has exited. */
  exitedNow(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM (graceful: in-flight reconciles finish), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.current) return;
    this.current.end = 'stopped';
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  onLine(listener: (line: LogLine) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Scrapes /metrics and sums every sample of `name` (all label sets). */
  async metric(name: string): Promise<number> {
    if (!this.metricsPort) throw new Error(`${this.options.name}: no metrics port`);
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await response.text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== ' ' && rest[0] !== '{') continue;
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(value)) sum += value;
    }
    return sum;
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}

/** Stops every operator process still running in this worker (afterAll, and on exit as a last resort). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.close()));
}

process.on('exit', () => {
  for (const p of live) {
    const pid = p.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

/**
 * For the global teardown: SIGKILLs any process this run started (its pid is
 * in run/pids) that is still alive and still runs our operator build, in case
 * a test worker died without stopping its children. Nothing else is touched.
 */
export function killRecordedChildren(): number {
  const file = PIDS_FILE();
  if (!existsSync(file)) return 0;
  let killed = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const pid = Number(line);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.split('\0').includes(operatorMain)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
