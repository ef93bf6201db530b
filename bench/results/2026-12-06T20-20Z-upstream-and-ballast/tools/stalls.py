# Stalls seen from the client: gaps in completion times (no request finished) of over GAP ms,
# from h2load's per-request log (start us, status, duration us).
import sys
GAP=float(sys.argv[1]); 
for f in sys.argv[2:]:
    ends=[]
    for l in open(f):
        p=l.split('\t')
        if len(p)<3: continue
        ends.append(int(p[0])+int(p[2]))
    ends.sort(); t0=ends[0]
    gaps=[((b-t0)/1e6,(b-a)/1000) for a,b in zip(ends,ends[1:]) if b-a>GAP*1000]
    print(f.split('/')[-1].ljust(24), len(gaps),'gaps >',GAP,'ms:', ' '.join(f"{t:.2f}s/{g:.0f}" for t,g in gaps))
