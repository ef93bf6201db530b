// The deployment files keep their promises: the Dockerfile is multi-stage and runs as a non-root
// user; docker-compose.yml has every service of the full stack with pinned image tags (defaults
// equal to scripts/versions.env) and the UI's codec endpoint at the API's /codec; Prometheus
// scrapes the API and the worker; the Kubernetes base lists every manifest, its Deployments have
// probes and resources, its images are pinned (the same Temporal versions as compose), and its
// copies of the Temporal scripts equal deploy/'s; every launcher of the API passes the V8 flags of
// config/node-flags.ts. (Strict k8s.io/api decoding: scripts/k8s-check.sh.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { API_NODE_FLAGS, POD_NODE_FLAGS } from '../../config/node-flags.js';

const ROOT = join(__dirname, '..', '..', '..');
const read = (...p: string[]) => readFileSync(join(ROOT, ...p), 'utf8');

/** scripts/versions.env as a map (KEY=VALUE lines). */
function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read('scripts', 'versions.env').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=("?)(.*)\2$/.exec(line.trim());
    if (m) out[m[1]!] = m[3]!;
  }
  return out;
}

/** Compose's ${VAR:-default} with the default filled in (what `docker compose` runs unset). */
const withDefaults = (s: string) => s.replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_, _v, d: string) => d);

const pinned = (image: string) => {
  const name = image.slice(image.lastIndexOf('/') + 1);
  return (/:[^:]+$/.test(name) && !name.endsWith(':latest') && !/:\d+$/.test(name)) || image.includes('@sha256:');
};

describe('deploy/Dockerfile', () => {
  const lines = read('deploy', 'Dockerfile').split('\n').filter((l) => !l.startsWith('#'));
  it('is multi-stage and its runtime stage runs as a non-root user', () => {
    const froms = lines.filter((l) => /^FROM /.test(l));
    assert.ok(froms.length >= 2, 'want a build stage and a runtime stage');
    const runtime = lines.slice(lines.lastIndexOf(froms.at(-1)!));
    const users = runtime.filter((l) => /^USER /.test(l));
    assert.equal(users.length, 1, 'one USER in the runtime stage');
    assert.ok(!/^USER (root|0)(:|$)/.test(users[0]!), users[0]);
    assert.ok(runtime.some((l) => /^COPY --from=build/.test(l)), 'the runtime stage copies from the build stage');
    assert.ok(!runtime.some((l) => /^COPY \. /.test(l)), 'the runtime stage does not copy the sources');
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(withDefaults(read('docker-compose.yml')), { merge: true }) as { services: Record<string, { image?: string; build?: unknown; environment?: Record<string, string>; command?: string[] }> };
  const services = compose.services;
  it('runs the whole stack', () => {
    for (const s of ['postgres', 'redis', 'nats', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui', 'migrate', 'pki', 'simulator', 'api', 'worker', 'relay', 'prometheus', 'grafana']) {
      assert.ok(services[s], `service ${s} missing`);
    }
    assert.deepEqual(services.relay!.command?.slice(-1), ['dist/relay/main.js']);
    assert.equal(services.relay!.environment?.NATS_URL, 'nats://nats:4222');
    assert.equal(services.temporal!.environment?.DB, 'postgres12', 'Temporal on Postgres persistence');
  });
  it('pins every image to the versions in scripts/versions.env', () => {
    const v = versions();
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue; // our own image, built from deploy/Dockerfile
      assert.ok(s.image && pinned(s.image), `${name}: image ${s.image} is not pinned`);
    }
    assert.equal(services.postgres!.image, `postgres:${v.POSTGRES_IMAGE_VERSION}`);
    assert.equal(services.redis!.image, `redis:${v.REDIS_IMAGE_VERSION}`);
    assert.equal(services.nats!.image, `nats:${v.NATS_IMAGE_VERSION}`);
    assert.equal(services.temporal!.image, `temporalio/server:${v.TEMPORAL_SERVER_VERSION}`);
    assert.equal(services['temporal-ui']!.image, `temporalio/ui:${v.TEMPORAL_UI_VERSION}`);
    assert.equal(services.prometheus!.image, `prom/prometheus:${v.PROMETHEUS_IMAGE_VERSION}`);
    assert.equal(services.grafana!.image, `grafana/grafana:${v.GRAFANA_IMAGE_VERSION}`);
  });
  it("points the Web UI's codec endpoint at the API's /codec", () => {
    assert.match(services['temporal-ui']!.environment?.TEMPORAL_CODEC_ENDPOINT ?? '', /^http:\/\/127\.0\.0\.1:8080\/codec$/);
  });
  it('has Prometheus scrape the API (its metrics port), the worker and the relay, and Grafana provisioned', () => {
    const prom = parse(read('deploy', 'prometheus', 'prometheus.yml')) as { scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[] };
    const targets = prom.scrape_configs.flatMap((j) => (j.dns_sd_configs ?? []).map((d) => `${d.names[0]}:${d.port}`));
    assert.ok(targets.includes('api:9465'), targets.join());
    assert.ok(!targets.includes('api:8080'), 'the public API port serves no /metrics');
    assert.ok(targets.includes('worker:9464'), targets.join());
    assert.ok(targets.includes('relay:9466'), targets.join());
    const ds = parse(read('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as { datasources: { url: string; uid: string }[] };
    assert.equal(ds.datasources[0]!.url, 'http://prometheus:9090');
    const dash = parse(read('deploy', 'grafana', 'provisioning', 'dashboards', 'core-dict.yml')) as { providers: { options: { path: string } }[] };
    assert.equal(dash.providers[0]!.options.path, '/var/lib/grafana/dashboards');
  });
});

describe('deploy/k8s', () => {
  const dir = join(ROOT, 'deploy', 'k8s');
  const kustomization = parse(read('deploy', 'k8s', 'kustomization.yaml')) as { resources: string[] };
  type Obj = { kind: string; metadata: { name: string }; spec?: any };
  const objects: Obj[] = kustomization.resources.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], f);
      return d.toJS() as Obj;
    }),
  );
  const byKind = (k: string) => objects.filter((o) => o.kind === k);

  it('lists every manifest in kustomization.yaml', () => {
    const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    assert.deepEqual([...files].sort(), [...kustomization.resources].sort());
  });
  it('has probes and resources on the API and the worker, and an HPA and a PDB for each', () => {
    const probes: Record<string, [string, number | string, string]> = {
      'core-dict-api': ['/readyz', 'http', '/healthz'],
      'core-dict-worker': ['/metrics', 'metrics', '/metrics'],
    };
    for (const [name, [ready, port, live]] of Object.entries(probes)) {
      const d = byKind('Deployment').find((o) => o.metadata.name === name);
      assert.ok(d, name);
      const c = d.spec.template.spec.containers[0];
      assert.equal(c.readinessProbe.httpGet.path, ready, name);
      assert.equal(c.readinessProbe.httpGet.port, port, name);
      assert.equal(c.livenessProbe.httpGet.path, live, name);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, name);
      assert.ok(byKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === name), `HPA for ${name}`);
      assert.ok(byKind('PodDisruptionBudget').some((p) => p.spec.selector.matchLabels['app.kubernetes.io/name'] === name), `PDB for ${name}`);
    }
    const worker = byKind('Deployment').find((o) => o.metadata.name === 'core-dict-worker')!;
    assert.deepEqual(worker.spec.template.spec.containers[0].ports, [{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }]);
    const relay = byKind('Deployment').find((o) => o.metadata.name === 'core-dict-relay')!;
    const rc = relay.spec.template.spec.containers[0];
    assert.deepEqual(rc.command.slice(-1), ['dist/relay/main.js']);
    assert.deepEqual(rc.ports, [{ name: 'http', containerPort: 9466, protocol: 'TCP' }]);
    assert.deepEqual([rc.readinessProbe.httpGet, rc.livenessProbe.httpGet], [{ path: '/readyz', port: 'http' }, { path: '/healthz', port: 'http' }]);
  });
  it('serves /metrics on ports only the monitoring namespace reaches, never on the public API port', () => {
    const cm = byKind('ConfigMap').find((o) => o.metadata.name === 'core-dict-config') as unknown as { data: Record<string, string> };
    const metricsPorts: Record<string, number> = { 'core-dict-api': Number(cm.data.API_METRICS_PORT), 'core-dict-worker': Number(cm.data.WORKER_METRICS_PORT), 'core-dict-relay': Number(cm.data.RELAY_HTTP_PORT) };
    const publicPorts = [Number(cm.data.API_PORT), Number(cm.data.API_GRPC_PORT)];
    for (const [name, port] of Object.entries(metricsPorts)) {
      assert.ok(port > 0 && !publicPorts.includes(port), `${name} metrics port ${port}`);
      const d = byKind('Deployment').find((o) => o.metadata.name === name)!;
      assert.equal(d.spec.template.metadata.annotations['prometheus.io/port'], String(port), name);
      assert.ok(d.spec.template.spec.containers[0].ports.some((p: { containerPort: number }) => p.containerPort === port), `${name} declares ${port}`);
      // Every ingress rule of a policy selecting this pod that opens the port comes from monitoring only.
      const rules = byKind('NetworkPolicy')
        .filter((n) => n.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === name)
        .flatMap((n) => n.spec.ingress ?? [])
        .filter((r: { ports?: { port: number }[] }) => r.ports?.some((p) => p.port === port));
      assert.ok(rules.length > 0, `${name}: a rule opens ${port}`);
      for (const r of rules) assert.deepEqual(r.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], name);
    }
    const api = byKind('Service').find((o) => o.metadata.name === 'core-dict-api');
    assert.ok(api && !api.spec.ports.some((p: { port: number }) => p.port === metricsPorts['core-dict-api']), 'the API Service does not expose the metrics port');
  });
  it('runs every pod as non-root with resources, and pins every image (Temporal as in versions.env)', () => {
    const v = versions();
    for (const o of [...byKind('Deployment'), ...byKind('Job')]) {
      const pod = o.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, o.metadata.name);
      for (const c of pod.containers) {
        assert.ok(c.resources?.requests?.cpu && c.resources?.limits?.memory, `${o.metadata.name}/${c.name} resources`);
        if (c.image === 'core-dict') continue; // set by kustomization.yaml's images: (pinned below)
        assert.ok(pinned(c.image), `${o.metadata.name}: ${c.image}`);
        const m = /^temporalio\/(server|admin-tools|ui):(.+)$/.exec(c.image);
        if (m) assert.equal(m[2], m[1] === 'ui' ? v.TEMPORAL_UI_VERSION : v.TEMPORAL_SERVER_VERSION, c.image);
      }
    }
    assert.match(read('deploy', 'k8s', 'kustomization.yaml'), /- name: core-dict\n\s+newName: \S+\n\s+newTag: \d+\.\d+\.\d+/);
  });
  it('has the Temporal schema, namespace and migration Jobs, NetworkPolicies and placeholder Secrets only', () => {
    assert.deepEqual(byKind('Job').map((j) => j.metadata.name).sort(), ['core-dict-migrate', 'temporal-namespace', 'temporal-schema']);
    assert.ok(byKind('NetworkPolicy').some((n) => JSON.stringify(n.spec.podSelector) === '{}' && n.spec.policyTypes.includes('Ingress')), 'a default deny');
    for (const s of byKind('Secret')) {
      for (const [k, val] of Object.entries((s as any).stringData as Record<string, string>)) {
        if (k.endsWith('_USER')) continue; // a user name is no secret
        assert.match(val, /CHANGE-ME|PLACEHOLDER|REPLACE-WITH/, `Secret ${s.metadata.name}.${k} must be a placeholder`);
      }
    }
  });
  it('lets the Web UI call /codec: CODEC_CORS_ORIGINS holds exact origins and the UI points at the API\'s /codec', () => {
    const cm = byKind('ConfigMap').find((o) => o.metadata.name === 'core-dict-config') as unknown as { data: Record<string, string> };
    const origins = (cm.data.CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
    assert.ok(origins.length > 0, 'CODEC_CORS_ORIGINS is set');
    for (const o of origins) assert.equal(new URL(o).origin, o, `${o} is an exact origin (scheme://host[:port], no path)`);
    const ui = byKind('Deployment').find((o) => o.metadata.name === 'temporal-ui')!;
    const env = ui.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    const endpoint = env.find((e) => e.name === 'TEMPORAL_CODEC_ENDPOINT')?.value ?? '';
    assert.match(new URL(endpoint).pathname, /^\/codec\/?$/, endpoint);
    assert.ok(!origins.includes(new URL(endpoint).origin), 'the UI is on its own origin, not the API\'s');
  });
  it("ships the same Temporal scripts as deploy/ (kustomize reads only files under deploy/k8s)", () => {
    for (const f of ['temporal-schema.sh', 'temporal-namespace.sh']) {
      assert.equal(read('deploy', 'k8s', 'scripts', f), read('deploy', f), `deploy/k8s/scripts/${f} differs from deploy/${f}: copy it again`);
    }
  });
});

describe("the API's V8 flags (config/node-flags.ts)", () => {
  /** The flags of a node command line, between `node` and the script. */
  const flagsOf = (argv: readonly string[]) => argv.slice(1, argv.indexOf('dist/api/main.js')).filter((a) => a !== '--enable-source-maps');
  it('are passed by every launcher of the API: the Dockerfile, compose, Kubernetes and scripts/lib.sh', () => {
    assert.ok(API_NODE_FLAGS.length > 0);
    const cmd = read('deploy', 'Dockerfile').split('\n').find((l) => l.startsWith('CMD '))!;
    assert.deepEqual(flagsOf(JSON.parse(cmd.slice(4)) as string[]), API_NODE_FLAGS, 'deploy/Dockerfile CMD');
    const compose = parse(withDefaults(read('docker-compose.yml')), { merge: true }) as { services: Record<string, { command?: string[] }> };
    assert.deepEqual(flagsOf(compose.services.api!.command!), API_NODE_FLAGS, 'docker-compose.yml api');
    const api = parseAllDocuments(read('deploy', 'k8s', 'api.yaml')).map((d) => d.toJS() as { kind: string; spec?: any }).find((o) => o.kind === 'Deployment')!;
    // The pod adds its own after them (512 MiB: POD_NODE_FLAGS).
    assert.deepEqual(flagsOf(api.spec.template.spec.containers[0].command as string[]), [...API_NODE_FLAGS, ...POD_NODE_FLAGS], 'deploy/k8s/api.yaml');
    // run.sh's instances api, api-2, ... (start_node passes node_flags' words to node).
    for (const name of ['api', 'api-2']) {
      const lib = spawnSync('bash', ['-c', 'source scripts/lib.sh && node_flags "$1"', 'bash', name], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(lib.status, 0, lib.stderr);
      assert.deepEqual(lib.stdout.trim().split(/\s+/), API_NODE_FLAGS, `scripts/lib.sh node_flags ${name}`);
    }
    const start = spawnSync('bash', ['-c', 'source scripts/lib.sh && declare -f start_node'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(start.stdout, /read -ra flags <<< "\$\(node_flags "\$name"\)"/, 'start_node asks node_flags');
    assert.match(start.stdout, /node --enable-source-maps "\$\{flags\[@\]\}" "\$script"/, 'start_node passes them to node');
  });
});
