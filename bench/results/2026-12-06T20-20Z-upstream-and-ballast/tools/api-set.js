// Preload for the bare server: everything dist/api/main.js requires, loaded and never used.
const fs = require('fs'), path = require('path');
const dist = path.resolve(process.env.DIST_API ?? 'dist/api'); // run from the project root, or set DIST_API
const src = fs.readFileSync(path.join(dist, 'main.js'), 'utf8');
for (const m of src.matchAll(/\brequire\("([^"]+)"\)/g)) require(m[1].startsWith('.') ? path.join(dist, m[1]) : require.resolve(m[1], { paths: [dist] }));
