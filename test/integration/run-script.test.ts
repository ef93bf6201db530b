// scripts/run.sh's day-to-day commands, without starting a whole stack: `status` names every
// process with its pid file and port, `restart` refuses unknown services and a stack that was
// never started, restarts one service (Redis: cheap, needs nothing else) under a new pid with its
// pid file, and the build stamp records the sources dist/ was compiled from (so `start` and
// `restart` skip tsc when nothing changed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../support/processes.js';

const ROOT = join(__dirname, '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'core-dict-run-'));
const dataDir = join(tmp, 'dev');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** run.sh in a clean environment: its own data dir, ports nobody listens on. */
function runSh(...args: string[]) {
  return runShWith({}, ...args);
}

function runShWith(extra: Record<string, string>, ...args: string[]) {
  const r = spawnSync('bash', ['scripts/run.sh', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CORE_DICT_DATA_DIR: dataDir,
      PG_PORT: '1',
      REDIS_PORT: '2',
      TEMPORAL_PORT: '3',
      TEMPORAL_UI_PORT: '4',
      API_PORT: '5',
      API_GRPC_PORT: '6',
      SIM_PORT: '7',
      API_METRICS_PORT: '8',
      RELAY_HTTP_PORT: '9',
      ...extra,
    },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('scripts/run.sh', () => {
  it('restart refuses when no stack was ever started here', () => {
    const r = runSh('restart', 'worker');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /nothing is running here/);
  });

  it('status lists every process with its state, port and pid file (Postgres: postmaster.pid)', () => {
    mkdirSync(dataDir, { recursive: true });
    const r = runSh('status');
    assert.equal(r.code, 1, r.out); // nothing runs
    assert.match(r.out, /SERVICE\s+STATE\s+PID\s+PORT\s+PID FILE/);
    const line = (name: string) => r.out.split('\n').find((l) => l.trim().split(/\s+/)[0] === name) ?? '';
    assert.match(line('postgres'), /stopped\s+-\s+1\s+\S*postgres\/postmaster\.pid$/);
    assert.match(line('redis'), /stopped\s+-\s+2\s+\S*run\/redis\.pid$/);
    assert.match(line('simulator'), /stopped\s+-\s+7\s+\S*run\/simulator\.pid$/);
    // HTTP/1.1, gRPC, then the metrics listener (API_METRICS_PORT); the relay's probe port.
    assert.match(line('api'), /stopped\s+-\s+5,6,8\s+\S*run\/api\.pid$/);
    assert.match(line('relay'), /stopped\s+-\s+9\s+\S*run\/relay\.pid$/);
    assert.match(line('worker'), /stopped\s+-\s+\S+\s+\S*run\/worker\.pid$/);
  });

  it('restart refuses a service it does not know, naming the ones it does', () => {
    const r = runSh('restart', 'nosuch');
    assert.notEqual(r.code, 0);
    assert.match(r.out, /unknown service 'nosuch' \(one of: postgres redis nats temporal simulator worker api relay/);
  });

  it('restart starts one service under a new pid with its pid file; stop stops it', async () => {
    const port = String(await freePort());
    const redisLine = (out: string) => out.split('\n').find((l) => l.trim().startsWith('redis ')) ?? '';
    try {
      const first = runShWith({ REDIS_PORT: port }, 'restart', 'redis');
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /restarted redis in \d+s/);
      const s1 = redisLine(runShWith({ REDIS_PORT: port }, 'status').out);
      const m1 = new RegExp(`running\\s+(\\d+)\\s+${port}\\s+\\S*run/redis\\.pid$`).exec(s1);
      assert.ok(m1, s1);
      assert.equal(readFileSync(join(dataDir, 'run', 'redis.pid'), 'utf8').trim(), m1[1]);
      const second = runShWith({ REDIS_PORT: port }, 'restart', 'redis');
      assert.equal(second.code, 0, second.out);
      assert.match(second.out, new RegExp(`stopping redis \\(pid ${m1[1]}\\)`));
      const m2 = /running\s+(\d+)/.exec(redisLine(runShWith({ REDIS_PORT: port }, 'status').out));
      assert.ok(m2);
      assert.notEqual(m2[1], m1[1]);
    } finally {
      const stop = runShWith({ REDIS_PORT: port }, 'stop');
      assert.equal(stop.code, 0, stop.out);
    }
    assert.match(redisLine(runShWith({ REDIS_PORT: port }, 'status').out), /stopped/);
  });

  it('the build stamp matches the sources dist/ was just built from', () => {
    const r = spawnSync('bash', ['-c', 'source scripts/install.sh && _build_inputs_hash'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^[0-9a-f]{64}$/);
    const again = spawnSync('bash', ['-c', 'source scripts/install.sh && _build_inputs_hash'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(again.stdout, r.stdout, 'the hash is deterministic');
    // Under scripts/test.sh, build_ts has just compiled and stamped (a bare `npx tsc` does not).
    if (process.env.CORE_DICT_PROFILE === 'test') {
      assert.equal(readFileSync(join(ROOT, 'dist', '.core-dict-build-stamp'), 'utf8').trim(), r.stdout.trim());
    }
  });
});
