#!/usr/bin/env python3
import sys
# Slow requests of a round grouped into episodes: requests over 0.6x the round's p99 whose starts
# are less than 50 ms apart; per episode its start, count and slowest (h2load per-request log).
for f in sys.argv[1:]:
    rows=[]
    for l in open(f):
        p=l.split('\t')
        if len(p)<3: continue
        rows.append((int(p[0]),int(p[2])))
    rows.sort(); t0=rows[0][0]
    d=sorted(x[1] for x in rows); p99=d[int(len(d)*0.99)]
    thr=p99*0.6
    # episodes: slow requests (>= thr) grouped by start time gaps < 50ms
    slow=[(s-t0,du) for s,du in rows if du>=thr]
    eps=[]
    for s,du in slow:
        if eps and s-eps[-1][1]<50000: eps[-1][1]=s; eps[-1][2]+=1; eps[-1][3]=max(eps[-1][3],du)
        else: eps.append([s,s,1,du])
    print(f.split('/')[-1], 'n',len(rows),'p99 ms',p99/1000,'thr',thr/1000,'slow',len(slow),'episodes',len(eps))
    print('   ', ' '.join(f"{e[0]/1e6:.2f}s:{e[2]}x/{e[3]/1000:.0f}ms" for e in eps))
