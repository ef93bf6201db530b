// A latency percentile plot as a standalone SVG (HdrHistogram style): x = percentile on a
// log scale of 1/(1-p) (50 %, 90 %, 99 %, 99.9 %, 99.99 %), y = latency in ms, one line per series.
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function percentileSvg(title: string, series: { name: string; points: [number, number][] }[]): string {
  const W = 760, H = 420, L = 70, R = 180, T = 40, B = 50;
  const xOf = (p: number) => Math.log10(1 / (1 - Math.min(p, 99.99) / 100)); // 0 … 4
  const maxY = Math.max(1, ...series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
  const px = (p: number) => L + (xOf(p) / 4) * (W - L - R);
  const py = (v: number) => T + (1 - v / maxY) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="22" font-size="14">${esc(title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
  ];
  for (const p of [0, 90, 99, 99.9, 99.99]) {
    parts.push(`<line x1="${px(p)}" y1="${T}" x2="${px(p)}" y2="${H - B}" stroke="#ddd"/>`, `<text x="${px(p)}" y="${H - B + 16}" text-anchor="middle">${p === 0 ? '0 %' : `${p} %`}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    parts.push(`<line x1="${L}" y1="${py(v)}" x2="${W - R}" y2="${py(v)}" stroke="#eee"/>`, `<text x="${L - 6}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">percentile</text>`, `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">latency (ms)</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const d = s.points.map(([p, v], k) => `${k ? 'L' : 'M'}${px(p).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<rect x="${W - R + 12}" y="${T + i * 20}" width="12" height="12" fill="${c}"/>`, `<text x="${W - R + 30}" y="${T + i * 20 + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
