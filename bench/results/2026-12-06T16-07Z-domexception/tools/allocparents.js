const [file, calls, fname] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const p = JSON.parse(require('fs').readFileSync(file, 'utf8'));
const by = new Map();
(function walk(n, stack) {
  const cf = n.callFrame;
  if (cf.functionName === fname && !cf.url) {
    const key = stack.slice(-3).map((f) => `${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`).join(' > ');
    by.set(key, (by.get(key) || 0) + n.selfSize);
  }
  for (const c of n.children) walk(c, [...stack, cf]);
})(p.head, []);
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${(v / calls).toFixed(0).padStart(7)} B ${k}`);
