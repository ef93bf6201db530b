const { sharesOf, categoryOf } = require('/work/main/dist/bench/lookup-profile.js');
const p = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const shares = [...sharesOf(p)].sort((a, b) => b[1] - a[1]).slice(0, 22);
console.log(shares.map(([k, v]) => `${(v * 100).toFixed(1)}% ${k}`).join('\n'));
// self time by function
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
for (let i = 0; i < p.samples.length; i++) { const n = byId.get(p.samples[i]); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) || 0) + (p.timeDeltas[i] || 0)); }
const total = [...self.values()].reduce((a, b) => a + b, 0);
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
console.log('--- top self (share of busy)');
for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(100 * v / (total - idle)).toFixed(2)}% ${k}`);
