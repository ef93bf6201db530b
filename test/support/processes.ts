// Our shipped programs as child processes, for the tests that run them the way scripts/run.sh
// and docker-compose do (configured only by environment): free ports, spawn with a bounded log
// tail per process, kill whatever is left.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** dist/, where the compiled programs are (this file is dist/test/support/processes.js). */
export const dist = join(__dirname, '..', '..');

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  return port;
}

/** Programs started by one test file, with the last 4,000 characters of each one's output. */
export class Programs {
  readonly procs: ChildProcess[] = [];
  private readonly logs = new Map<ChildProcess, string>();

  /** `script` relative to dist/ (e.g. 'worker/main.js'), with LOG_LEVEL=warn and `env` over ours. */
  start(script: string, env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [join(dist, script)], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.logs.set(child, '');
    const keep = (d: Buffer) => this.logs.set(child, (this.logs.get(child)! + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
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
