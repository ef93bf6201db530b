// top self-time functions by category in a cpuprofile; args: file, regexOfUrl, topN
const fs=require('fs');const [f,re,n]=process.argv.slice(2);
const p=JSON.parse(fs.readFileSync(f,'utf8'));const byId=new Map(p.nodes.map(x=>[x.id,x]));
const parent=new Map();for(const x of p.nodes)for(const c of x.children||[])parent.set(c,x.id);
const t=new Map();let busy=0;
p.samples.forEach((s,i)=>{const nd=byId.get(s);const d=p.timeDeltas[i]||0;if(nd.callFrame.functionName==='(idle)')return;busy+=d;
 if(!new RegExp(re).test(nd.callFrame.url+' '+nd.callFrame.functionName))return;
 const par=byId.get(parent.get(s));const k=`${nd.callFrame.functionName||'(anon)'} ${nd.callFrame.url.replace(/.*\/(dist|node_modules)\//,'')}:${nd.callFrame.lineNumber} <- ${par?par.callFrame.functionName+' '+par.callFrame.url.replace(/.*\/(dist|node_modules)\//,''):''}`;
 t.set(k,(t.get(k)||0)+d);});
const rows=[...t].sort((a,b)=>b[1]-a[1]).slice(0,+n||20);
for(const [k,v] of rows)console.log((100*v/busy).toFixed(2)+'%',k);
