# Per run directory: for bare and api1 at 50 %, p99 and the completion gaps over 30 ms (count, median, max),
# from h2load's per-request logs (start us, status, duration us).
import sys, glob, os, statistics as st
def gaps(f, thr=30):
    ends=[]; d=[]
    for l in open(f):
        p=l.split('\t')
        if len(p)<3: continue
        ends.append(int(p[0])+int(p[2])); d.append(int(p[2]))
    ends.sort(); d.sort()
    g=[(b-a)/1000 for a,b in zip(ends,ends[1:]) if (b-a)/1000>thr]
    return d[int(len(d)*0.99)]/1000, g
for run in sys.argv[1:]:
    out=[]
    for t in ('bare','api1'):
        for f in sorted(glob.glob(os.path.join(run, f'{t}-rate-50% r*.tsv'))):
            p99,g=gaps(f)
            out.append(f"{t} {f[-6:-4]} p99 {p99:6.1f} gaps>30ms {len(g):2d} med {st.median(g) if g else 0:5.1f} max {max(g) if g else 0:5.1f}")
    print(os.path.basename(run.rstrip('/'))); print('   '+'\n   '.join(out))
