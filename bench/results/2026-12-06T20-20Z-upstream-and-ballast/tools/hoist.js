// Experiment only: hoists Connect's per-call `return async function* (x) {...}` closures to
// module-level async generator functions taking the enclosing function's parameters.
const fs = require('fs');
const file = process.argv[2];
const lines = fs.readFileSync(file, 'utf8').split('\n');
const out = []; const hoisted = []; let params = null; let n = 0;
for (let i = 0; i < lines.length; i++) {
  const l = lines[i];
  const f = /^function (\w+)\(([^)]*)\) \{$/.exec(l);
  if (f) params = f[2].split(',').map((s) => s.trim()).filter(Boolean);
  const m = /^(\s*)return async function\* (\w*)\s*\((\w+)\) \{$/.exec(l);
  if (m && params) {
    const [, ind, , arg] = m; const body = [];
    let j = i + 1;
    for (; j < lines.length && lines[j] !== `${ind}};`; j++) body.push(lines[j]);
    if (j === lines.length) throw new Error('no end for ' + i);
    const name = `__hoisted_gen_${n++}`;
    hoisted.push(`async function* ${name}(${[arg, ...params].join(', ')}) {`, ...body, '}');
    out.push(`${ind}return (${arg}) => ${name}(${[arg, ...params].join(', ')});`);
    i = j; continue;
  }
  out.push(l);
}
fs.writeFileSync(file, [...out, ...hoisted, ''].join('\n'));
console.log(file, 'hoisted', n);
