// Our shipped programs as child processes, for the tests that run them the way scripts/run.sh
// and docker-compose do (configured only by environment): free ports, spawn with a bounded log
// tail per process, kill whatever is left. Every child's whole output is also appended to a file
// under $LOG_DIR (.data/test/logs/) for the suite-level log scan (test/support/log-scan.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { Redis } from 'ioredis';
import { API_NODE_FLAGS } from '../../config/node-flags.js';
import { redisFailFastOptions } from '../../store/lookup-cache.js';

/** Appends `child`'s stdout and stderr to $LOG_DIR/<name>-<pid>.log (when LOG_DIR is set, as scripts/test.sh does). */
export function teeToLogDir(child: ChildProcess, name: string): void {
  const dir = process.env.LOG_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(join(dir, `${name}-${child.pid ?? 'x'}.log`), { flags: 'a' });
  child.stdout?.on('data', (d: Buffer) => out.write(d));
  child.stderr?.on('data', (d: Buffer) => out.write(d));
  child.once('close', () => out.end());
}

/** dist/, where the compiled programs are (this file is dist/test/support/processes.js). */
export const dist = join(__dirname, '..', '..');

const handedOut = new Set<number>();

/** A loopback port nobody listens on right now, and not one this process handed out before. */
export async function freePort(): Promise<number> {
  // The kernel may give a port it gave before once that listener is closed (15 times in 500
  // calls here): two processes of one test then got the same port, and the second died with
  // EADDRINUSE (replicas.test.ts, 2026-12-06). So never the same port twice in one test process.
  for (let attempt = 0; attempt < 100; attempt++) {
    const srv = createServer().listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    srv.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no port not handed out before in 100 attempts');
}

/** A throwaway Redis on loopback (no persistence) that a test may kill. */
export function spawnRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

/**
 * A Redis of one test's own on a free port, to kill, freeze (SIGSTOP) or restart, with a client
 * on it built as the API builds its own (fail fast: store/lookup-cache.ts redisFailFastOptions).
 */
export class PrivateRedis {
  private constructor(
    readonly port: number,
    public proc: ChildProcess,
    readonly client: Redis,
  ) {}

  static async start(commandTimeoutMs: number): Promise<PrivateRedis> {
    const port = await freePort();
    const r = new PrivateRedis(port, spawnRedis(port), new Redis(`redis://127.0.0.1:${port}/0`, redisFailFastOptions(commandTimeoutMs)));
    r.client.on('error', () => undefined);
    await r.ready();
    return r;
  }

  /** Until the client is connected (at most 10 s). */
  async ready(): Promise<void> {
    for (let i = 0; i < 200 && this.client.status !== 'ready'; i++) await new Promise((res) => setTimeout(res, 50));
    if (this.client.status !== 'ready') throw new Error(`redis on :${this.port} not ready (client ${this.client.status})`);
  }

  /** SIGKILL, and wait for the exit. */
  async kill(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGKILL');
    await once(this.proc, 'exit');
  }

  /** redis-server again on the same port (empty: no persistence), and the client reconnected. */
  async restart(): Promise<void> {
    this.proc = spawnRedis(this.port);
    await this.ready();
  }

  /** For after(): the client closed, the server killed if it still runs (a frozen one too). */
  async stop(): Promise<void> {
    this.client.disconnect();
    await this.kill();
  }
}

/** Programs started by one test file, with the last 4,000 characters of each one's output. */
export class Programs {
  readonly procs: ChildProcess[] = [];
  private readonly logs = new Map<ChildProcess, string>();

  /**
   * `script` relative to dist/ (e.g. 'worker/main.js'), with LOG_LEVEL=warn and `env` over ours;
   * the worker's and the API's metrics listeners and the relay's HTTP server are off unless `env` gives them
   * ports (fixed defaults would clash).
   */
  start(script: string, env: Record<string, string>): ChildProcess {
    const quiet = { LOG_LEVEL: 'warn', WORKER_METRICS_PORT: '0', TEMPORAL_METRICS_PORT: '0', RELAY_HTTP_PORT: '0', API_METRICS_PORT: '0' };
    // The API starts with its V8 flags, as every launcher starts it (config/node-flags.ts).
    const flags = script === 'api/main.js' ? API_NODE_FLAGS : [];
    const child = spawn(process.execPath, [...flags, join(dist, script)], { env: { ...process.env, ...quiet, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.logs.set(child, '');
    const keep = (d: Buffer) => this.logs.set(child, (this.logs.get(child)! + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    teeToLogDir(child, `program-${basename(script, '.js')}-${basename(join(script, '..'))}`);
    this.procs.push(child);
    return child;
  }

  log(child: ChildProcess): string {
    return this.logs.get(child) ?? '';
  }

  all(): string {
    return [...this.logs.values()].join('\n---\n');
  }

  killAll(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
  }
}
