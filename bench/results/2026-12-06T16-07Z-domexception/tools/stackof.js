// total (inclusive) time of samples whose stack contains a frame matching re, grouped by the 4 frames above the match
const fs=require('fs');const [f,re,n]=process.argv.slice(2);
const p=JSON.parse(fs.readFileSync(f,'utf8'));const byId=new Map(p.nodes.map(x=>[x.id,x]));
const parent=new Map();for(const x of p.nodes)for(const c of x.children||[])parent.set(c,x.id);
const t=new Map();let busy=0;const R=new RegExp(re);
const name=(x)=>`${x.callFrame.functionName||'(anon)'}@${x.callFrame.url.replace(/.*\/(dist|node_modules)\//,'').replace('node:internal/','')}:${x.callFrame.lineNumber}`;
p.samples.forEach((s,i)=>{let nd=byId.get(s);const d=p.timeDeltas[i]||0;if(nd.callFrame.functionName==='(idle)')return;busy+=d;
 const st=[];for(let x=nd;x;x=byId.get(parent.get(x.id)))st.push(x);
 const k=st.findIndex(x=>R.test(x.callFrame.url+' '+x.callFrame.functionName)); if(k<0)return;
 // outermost matching frame
 let o=k; for(let j=k;j<st.length;j++) if(R.test(st[j].callFrame.url+' '+st[j].callFrame.functionName)) o=j;
 const key=st.slice(o,o+5).map(name).join(' < ');t.set(key,(t.get(key)||0)+d);});
for(const [k,v] of [...t].sort((a,b)=>b[1]-a[1]).slice(0,+n||10))console.log((100*v/busy).toFixed(2)+'%',k);
