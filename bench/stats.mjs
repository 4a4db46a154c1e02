// Shared by the bench reports: TSV reading, medians and plain-text tables. MB = 10^6 bytes.
import { readFileSync } from 'node:fs';

/** Rows of a TSV with a header line; numeric cells become numbers. */
export function readTsv(path) {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = head.split('\t');
  return lines.filter(Boolean).map((l) => {
    const v = l.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, /^-?[0-9.]+$/.test(v[i]) ? Number(v[i]) : v[i]]));
  });
}

export function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const f = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
export const pad = (s, n) => String(s).padStart(n);
export const out = (s = '') => console.log(s);

/** Right-aligned columns (the first one left-aligned when `firstLeft`), a dashed rule under the header. */
export function table(header, rows, { firstLeft = false } = {}) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (c, i) => (firstLeft && i === 0 ? String(c).padEnd(w[i]) : pad(c, w[i]));
  out(header.map(cell).join('  '));
  out(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) out(r.map(cell).join('  '));
}
