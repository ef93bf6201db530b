// preload: sampling heap profile of every allocation (collected ones included), written at exit
const inspector = require('inspector'); const fs = require('fs'); const path = require('path');
const s = new inspector.Session(); s.connect();
const name = path.basename(process.argv[1] || 'x', '.js');
s.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
process.on('exit', () => {
  s.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) return;
    fs.writeFileSync(`/tmp/gcx/alloc-${name}-${process.pid}.heapprofile`, JSON.stringify(r.profile));
  });
});
