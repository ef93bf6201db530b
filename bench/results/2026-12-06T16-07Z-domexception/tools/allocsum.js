// summarize a .heapprofile: self bytes by function (url:line) and by package, per N calls
const [file, calls] = [process.argv[2], Number(process.argv[3] || 1)];
const p = JSON.parse(require('fs').readFileSync(file, 'utf8'));
const byFn = new Map(), byPkg = new Map(); let total = 0;
(function walk(n) {
  const self = n.selfSize; total += self;
  const cf = n.callFrame; const url = cf.url.replace(/^file:\/\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  const pkg = m ? m[1] : url.includes('/dist/') ? 'ours:' + url.split('/dist/')[1].split('/')[0] : (url || '(native)');
  const key = `${cf.functionName || '(anon)'} ${url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) || 0) + self); byPkg.set(pkg, (byPkg.get(pkg) || 0) + self);
  for (const c of n.children) walk(c);
})(p.head);
console.log(`total ${(total / calls / 1024).toFixed(1)} KB per call (${calls} calls)`);
for (const [k, v] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(v / calls).toFixed(0).padStart(8)} B  ${k}`);
console.log('--- functions');
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] || 40))) console.log(`${(v / calls).toFixed(0).padStart(8)} B  ${k}`);
