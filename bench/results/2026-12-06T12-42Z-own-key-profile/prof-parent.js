const p = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const want = new Set(process.argv.slice(3));
const agg = new Map(); let busy = 0;
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]); const dt = p.timeDeltas[i] || 0;
  if (n.callFrame.functionName !== '(idle)') busy += dt;
  if (!want.has(n.callFrame.functionName)) continue;
  // walk up to the first frame with a url in node_modules or node:internal (not native)
  let id = parent.get(n.id), chain = [];
  while (id && chain.length < 9) { const f = byId.get(id).callFrame; chain.push(`${f.functionName || '(anon)'}@${f.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '')}`); id = parent.get(id); }
  const k = `${n.callFrame.functionName} <- ${chain.slice(3, 8).join(' <- ')}`;
  agg.set(k, (agg.get(k) || 0) + dt);
}
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${(100 * v / busy).toFixed(2)}% ${k}`);
