// heap snapshot summary: self size by node type/name (top N), and total
const fs=require('fs');const s=JSON.parse(fs.readFileSync(process.argv[2],'utf8'));
const m=s.snapshot.meta;const nf=m.node_fields.length;const types=m.node_types[0];
const iT=m.node_fields.indexOf('type'),iN=m.node_fields.indexOf('name'),iS=m.node_fields.indexOf('self_size');
const agg=new Map();let total=0;const byType=new Map();
for(let i=0;i<s.nodes.length;i+=nf){const t=types[s.nodes[i+iT]];const name=s.strings[s.nodes[i+iN]];const sz=s.nodes[i+iS];total+=sz;
 const k=t+' '+(t==='string'||t==='concatenated string'||t==='sliced string'?'':String(name).slice(0,60));
 const a=agg.get(k)||[0,0];a[0]+=sz;a[1]++;agg.set(k,a);byType.set(t,(byType.get(t)||0)+sz);}
console.log('total MB',(total/1e6).toFixed(1));
console.log([...byType].sort((a,b)=>b[1]-a[1]).map(([k,v])=>`${k} ${(v/1e6).toFixed(1)}`).join(', '));
for(const [k,[sz,c]] of [...agg].sort((a,b)=>b[1][0]-a[1][0]).slice(0,+process.argv[3]||30))console.log((sz/1e6).toFixed(2).padStart(7),String(c).padStart(8),k);
