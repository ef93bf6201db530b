# Mark-compact and scavenge pauses per process from a log holding node --trace-gc-nvp lines: counts, mean pauses, mark-compact phases.
import re,sys,collections
per=collections.defaultdict(list)
for l in open(sys.argv[1]):
    m=re.search(r'\[(\d+):0x[0-9a-f]+\]\s+(\d+) ms: (.*gc=(mc|ms|s|mmc).*)',l)
    if not m: continue
    kv=dict(x.split('=',1) for x in m.group(3).split() if '=' in x)
    per[(m.group(1),kv['gc'])].append((int(m.group(2)),kv))
for (pid,kind),xs in sorted(per.items()):
    xs=[x for x in xs if x[0]>5000]  # skip start-up
    if not xs: continue
    p=[float(k['pause']) for _,k in xs]
    print(f'pid {pid} gc={kind}: n={len(xs)} pause mean {sum(p)/len(p):.2f} max {max(p):.1f}')
    if kind=='mc':
        keys=[k for k in xs[0][1] if re.fullmatch(r'[a-z_]+(\.[a-z_]+)?',k) and k not in('gc','reduce_memory')]
        def f(v):
            try: return float(v)
            except: return 0.0
        avg={k:sum(f(x[1].get(k,0)) for x in xs)/len(xs) for k in keys}
        top=sorted(((v,k) for k,v in avg.items() if '.' in k and v>=0.3),reverse=True)[:18]
        print('   top-level:',' '.join(f'{k}={avg[k]:.1f}' for k in keys if '.' not in k and avg[k]>=0.1))
        print('   phases:',' '.join(f'{k}={v:.1f}' for v,k in top))
        for k in ('total_size_before','total_size_after','holes_size_after','promoted','semi_space_copied','nodes_promoted','allocated','promotion_rate','survival_rate'):
            if k in xs[0][1]: print(f'   {k}: ' + ' '.join(x[1][k] for x in xs))
