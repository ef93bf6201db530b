#!/usr/bin/env python3
# Stalls seen from the client: gaps between completions (no request finished), from h2load's
# per-request logs (start us, status, duration us).
#   stalls.py GAP_MS <tsv>...            every gap over GAP_MS, per log (runK-stalls.txt)
#   stalls.py --rounds <run dir>...      per 50 % round of bare and api1: p99 and the gaps over
#                                        30 ms, count, median and max (ballast/gaps.txt)
import sys, glob, os, statistics as st

def read(f):
    """Completion times and durations (us) of one log."""
    ends, durations = [], []
    for l in open(f):
        p = l.split('\t')
        if len(p) < 3: continue
        ends.append(int(p[0]) + int(p[2])); durations.append(int(p[2]))
    ends.sort(); durations.sort()
    return ends, durations

def gaps(ends, over_ms):
    """(seconds since the first completion, gap ms) of every gap over `over_ms`."""
    return [((b - ends[0]) / 1e6, (b - a) / 1000) for a, b in zip(ends, ends[1:]) if (b - a) / 1000 > over_ms]

if sys.argv[1] == '--rounds':
    for run in sys.argv[2:]:
        out = []
        for t in ('bare', 'api1'):
            for f in sorted(glob.glob(os.path.join(run, f'{t}-rate-50% r*.tsv'))):
                ends, d = read(f)
                g = [ms for _, ms in gaps(ends, 30)]
                out.append(f"{t} {f[-6:-4]} p99 {d[int(len(d)*0.99)]/1000:6.1f} gaps>30ms {len(g):2d} med {st.median(g) if g else 0:5.1f} max {max(g) if g else 0:5.1f}")
        print(os.path.basename(run.rstrip('/'))); print('   ' + '\n   '.join(out))
else:
    GAP = float(sys.argv[1])
    for f in sys.argv[2:]:
        g = gaps(read(f)[0], GAP)
        print(f.split('/')[-1].ljust(24), len(g), 'gaps >', GAP, 'ms:', ' '.join(f"{t:.2f}s/{ms:.0f}" for t, ms in g))
