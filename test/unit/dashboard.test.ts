// The shipped Grafana dashboard (deploy/grafana/core-dict.json) and Prometheus rules
// (deploy/prometheus/alerts.yml) only reference series that exist: ours (config/metrics.ts,
// prom-client's process metrics), Temporal Core's (temporal_*, from the worker's Runtime),
// Prometheus' `up` and kube-state-metrics' restart counter. Plus the dashboard's structure:
// unique panel ids, a Prometheus datasource and a non-empty expr on every target.
// (`promtool check rules` checks the rules' syntax in scripts/test.sh.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectProcessMetrics, METRIC_NAMES, register } from '../../config/metrics.js';

const root = join(__dirname, '..', '..', '..');
const EXTERNAL = new Set(['up', 'kube_pod_container_status_restarts_total']);
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'changes', 'delta', 'histogram_quantile', 'time', 'abs', 'clamp_min', 'clamp_max', 'topk', 'bottomk', 'vector', 'scalar', 'label_values',
]);

/** Metric names an expression reads (labels, functions, keywords, numbers and durations removed). */
export function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
}

function known(): (name: string) => boolean {
  collectProcessMetrics();
  const ours = new Set<string>();
  for (const m of register.getMetricsAsArray()) {
    const n = (m as unknown as { name: string }).name;
    for (const s of ['', '_bucket', '_sum', '_count']) ours.add(n + s);
  }
  for (const n of METRIC_NAMES) assert.ok(ours.has(n), n);
  return (name) => ours.has(name) || EXTERNAL.has(name) || name.startsWith('temporal_');
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}

test('dashboard: structure, and every panel expr reads series the code registers', () => {
  const dash = JSON.parse(readFileSync(join(root, 'deploy/grafana/core-dict.json'), 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string }[] } };
  assert.equal(dash.uid, 'core-dict');
  assert.ok(dash.templating.list.some((v) => v.name === 'datasource'));
  const isKnown = known();
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  const used = new Set<string>();
  for (const p of panels.filter((p) => p.type !== 'row')) {
    assert.ok(p.title, `panel ${p.id} has a title`);
    assert.equal(p.datasource?.type, 'prometheus', p.title);
    assert.ok(p.targets?.length, `${p.title} has targets`);
    for (const t of p.targets!) {
      assert.ok(t.expr.trim(), p.title);
      const names = metricsOf(t.expr);
      assert.ok(names.length, `${p.title}: ${t.expr} reads no metric`);
      for (const n of names) {
        assert.ok(isKnown(n), `${p.title}: ${n} is not a metric we register`);
        used.add(n.replace(/_(bucket|sum|count)$/, ''));
      }
    }
  }
  // Every metric of ours is on the dashboard.
  for (const n of METRIC_NAMES) assert.ok(used.has(n), `${n} has no panel`);
});

test('alert rules read series the code registers', () => {
  const text = readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8');
  // The rules file's exprs: single-line `expr: ...` or a `|` block indented below it.
  const exprs: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    if (m[2] !== '|') {
      exprs.push(m[2]!);
      continue;
    }
    const block: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.startsWith(m[1]! + '  ') || !lines[i + 1]!.trim())) block.push(lines[++i]!);
    exprs.push(block.join('\n'));
  }
  assert.ok(exprs.length >= 10, `${exprs.length} rules`);
  const isKnown = known();
  for (const e of exprs) for (const n of metricsOf(e)) assert.ok(isKnown(n), `${n} in ${e}`);
});

test('metricsOf', () => {
  assert.deepEqual(metricsOf('histogram_quantile(0.99, sum by (le, rpc) (rate(core_dict_rpc_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))'), ['core_dict_rpc_duration_seconds_bucket']);
  assert.deepEqual(metricsOf('min(a_b) < time() - 600'), ['a_b']);
});
