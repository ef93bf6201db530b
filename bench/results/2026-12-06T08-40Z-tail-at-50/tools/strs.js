const fs=require('fs');const s=JSON.parse(fs.readFileSync(process.argv[2],'utf8'));
const m=s.snapshot.meta;const nf=m.node_fields.length;const types=m.node_types[0];
const iT=m.node_fields.indexOf('type'),iN=m.node_fields.indexOf('name'),iS=m.node_fields.indexOf('self_size');
const xs=[];for(let i=0;i<s.nodes.length;i+=nf){if(types[s.nodes[i+iT]]!=='string')continue;xs.push([s.nodes[i+iS],s.strings[s.nodes[i+iN]]]);}
xs.sort((a,b)=>b[0]-a[0]);
const buckets=[[1e5,0,0],[1e4,0,0],[1e3,0,0],[100,0,0],[0,0,0]];
for(const [sz] of xs){for(const b of buckets)if(sz>=b[0]){b[1]++;b[2]+=sz;break;}}
console.log(buckets.map(b=>`>=${b[0]}: ${b[1]} strings ${(b[2]/1e6).toFixed(2)} MB`).join('\n'));
for(const [sz,t] of xs.slice(0,25))console.log(sz,JSON.stringify(t.slice(0,100)));
