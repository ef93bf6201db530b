# GC pauses (gcobs.js logs: epoch ms, kind, ms) inside each 50 % round's window (h2load per-request
# log: start us since the epoch, status, duration us), per target: majors (count, mean, max) and minors.
import sys, glob, os, statistics as st
for run in sys.argv[1:]:
    gc = {}
    for f in glob.glob(os.path.join(run, 'gc', '*.log')) + glob.glob(os.path.join(run, 'gc', '*.txt')):
        who = 'bare' if os.path.basename(f).startswith('bare-server') else 'api1'
        gc[who] = [(float(a), k, float(m)) for a, k, m in (l.split('\t') for l in open(f) if l.strip())]
    print(os.path.basename(run.rstrip('/')))
    for who in ('bare', 'api1'):
        for tsv in sorted(glob.glob(os.path.join(run, f'{who}-rate-50% r*.tsv'))):
            st_, en = None, None
            for l in open(tsv):
                p = l.split('\t')
                if len(p) < 3: continue
                s, d = int(p[0]) / 1000, int(p[2]) / 1000
                st_ = s if st_ is None or s < st_ else st_
                en = s + d if en is None or s + d > en else en
            ev = [e for e in gc.get(who, []) if st_ <= e[0] <= en]
            maj = [m for _, k, m in ev if k == 'major']; mi = [m for _, k, m in ev if k == 'minor']
            print(f"   {who} {tsv[-6:-4]} {en-st_:6.0f} ms  major n={len(maj):2d} mean={st.mean(maj) if maj else 0:5.1f} max={max(maj) if maj else 0:5.1f}  minor n={len(mi):3d} mean={st.mean(mi) if mi else 0:5.1f} max={max(mi) if mi else 0:5.1f}  total {sum(maj)+sum(mi):6.0f} ms")
