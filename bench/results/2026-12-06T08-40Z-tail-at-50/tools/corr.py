# stalls in an h2load log (100 ms buckets whose max latency > p99) vs GC pauses and event-loop gaps of a pid's stall log
import sys,glob
tsv,stall=sys.argv[1],sys.argv[2]
rows=[tuple(map(int,l.split('\t'))) for l in open(tsv) if l.strip()]
lat=sorted(r[2] for r in rows);n=len(lat);p99=lat[int(n*.99)]
t0=min(r[0] for r in rows)/1000;t1=max(r[0] for r in rows)/1000
ev=[l.rstrip('\n').split('\t') for l in open(stall)]
gcs=[(float(e[1]),e[2],float(e[3])) for e in ev if e[0]=='gc' and t0-200<=float(e[1])<=t1+200]
gaps=[(float(e[1]),float(e[2])) for e in ev if e[0]=='gap' and t0-200<=float(e[1])<=t1+200]
print(f'n {n} p50 {lat[n//2]/1000:.1f} p99 {p99/1000:.1f} ms; window {t1-t0:.0f} ms')
from collections import Counter
c=Counter();tot=Counter()
for t,k,d in gcs: c[k]+=1; tot[k]+=d
print('gc:',{k:(c[k],round(tot[k],1),round(max(d for t,kk,d in gcs if kk==k),1)) for k in c})
print('loop gaps >15ms:',len(gaps),'max',max([g for _,g in gaps],default=0),'sum',sum(g for _,g in gaps))
# worst requests: start ms, latency, and what happened in [start, start+lat]
worst=sorted(rows,key=lambda r:-r[2])[:200]
seen=set()
for s,_,d in sorted(worst):
  b=s//100000
  if b in seen: continue
  seen.add(b)
  st=s/1000;en=st+d/1000
  g=[f'{k}{dd:.0f}@{t-st:.0f}' for t,k,dd in gcs if st-50<=t<=en]
  gp=[f'gap{dd:.0f}@{t-st:.0f}' for t,dd in gaps if st-50<=t<=en]
  print(f'  t={st-t0:7.0f} lat={d/1000:6.1f}  {" ".join(g+gp)}')
