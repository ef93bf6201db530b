import sys, glob, statistics as st
# usage: gcsum.py DIR... ; per process: count/mean/p50/max of major and minor pauses, after the first 20 s
for d in sys.argv[1:]:
    for f in sorted(glob.glob(d + '/gc/*.txt')):
        rows = [l.split('\t') for l in open(f) if l.strip()]
        if not rows: continue
        t0 = float(rows[0][0])
        out = []
        for kind in ('minor', 'major'):
            xs = [float(r[2]) for r in rows if r[1] == kind and float(r[0]) - t0 > 20000]
            if xs: out.append(f"{kind} n={len(xs)} mean={st.mean(xs):.1f} p50={st.median(xs):.1f} p90={sorted(xs)[int(len(xs)*0.9)]:.1f} max={max(xs):.1f} sum={sum(xs)/1000:.2f}s")
        print(d.split('/')[-1], f.split('/')[-1].split('-')[0], ' | '.join(out))
