// Turns the per-run TSV of bench/rbd.sh into a table: imaged's rbd store vs the rbd CLI.
//   node rbd-report.mjs RESULTS.tsv CLI_START_SECS CLI_START_CPU [SUMMARY_FILE]
// MB = 10^6 bytes. Lines starting with "TARGET" are also appended to SUMMARY_FILE.
import { appendFileSync } from 'node:fs';
import { readTsv, median, f, out, table } from './stats.mjs';

const TARGET = 1.0; // imaged/CLI throughput, at least, both ways

const [file, startSecs, startCpu, summaryFile] = process.argv.slice(2);


const runs = readTsv(file).map((r) => ({
  ...r,
  mbps: r.bytes / r.secs / 1e6,
  sideCpu: r.client_cpu_s + r.server_cpu_s, // CLI: rbd; imaged: imaged + curl
  otherCores: r.other_cpu_s / r.secs,
}));

out('RBD: 1 GiB per run, wall time per command; CPU-s = utime+stime from /proc: CLI side = the rbd process (all threads);');
out('imaged side = the imaged node process (all threads) + curl; OSD = the ceph-osd process; medians over rounds;');
out('ratio = median of the per-round imaged/CLI ratios (throughput: > 1 = imaged faster; CPU: < 1 = imaged cheaper)');
out('imaged upload also computes md5 + sha512 + xxh3 and creates + protects a snapshot; the CLI does neither');
out();

const rows = [];
const diag = [];
const summary = [];
for (const dir of ['upload', 'download']) {
  const cli = runs.filter((r) => r.dir === dir && r.side === 'cli');
  const im = runs.filter((r) => r.dir === dir && r.side === 'imaged');
  const pairs = cli.map((c) => [c, im.find((i) => i.round === c.round)]).filter(([, i]) => i);
  const ratio = (k) => median(pairs.map(([c, i]) => i[k] / c[k]));
  const med = (rs, k) => median(rs.map((r) => r[k]));
  const thr = ratio('mbps');
  const ok = thr >= TARGET;
  rows.push([
    dir, pairs.length, f(med(cli, 'mbps')), f(med(im, 'mbps')), f(thr, 3), ok ? 'PASS' : 'FAIL',
    f(med(cli, 'sideCpu'), 2), f(med(im, 'sideCpu'), 2), f(ratio('sideCpu'), 3),
    f(med(cli, 'osd_cpu_s'), 2), f(med(im, 'osd_cpu_s'), 2), f(ratio('osd_cpu_s'), 3),
  ]);
  diag.push([
    dir, f(med(im, 'server_cpu_s'), 2), f(med(im, 'client_cpu_s'), 2),
    f(Math.min(...cli.map((r) => r.mbps))), f(Math.max(...cli.map((r) => r.mbps))),
    f(Math.min(...im.map((r) => r.mbps))), f(Math.max(...im.map((r) => r.mbps))),
    f(Math.min(...pairs.map(([c, i]) => i.mbps / c.mbps)), 3), f(Math.max(...pairs.map(([c, i]) => i.mbps / c.mbps)), 3),
    f(Math.max(...cli.map((r) => r.otherCores), ...im.map((r) => r.otherCores)), 2),
  ]);
  summary.push(`TARGET rbd ${dir}: ${f(thr, 3)}x the rbd CLI (>= ${TARGET.toFixed(1)}) ${ok ? 'PASS' : 'FAIL'}; ` +
    `CPU-s imaged+curl ${f(med(im, 'sideCpu'), 2)} vs rbd ${f(med(cli, 'sideCpu'), 2)}; OSD ${f(ratio('osd_cpu_s'), 3)}x`);
}
table(['', 'rounds', 'CLI MB/s', 'imaged MB/s', 'ratio', '>=1.0x', 'CPU-s rbd', 'imaged+curl', 'ratio', 'OSD CPU-s CLI', 'imaged', 'ratio'], rows);
out();
out(`diagnostics: imaged's own CPU vs curl's; spread over rounds (min..max); other load = CPUs busy with anything else`);
out(`(/proc/stat minus client, imaged and OSD: the mon, other clusters, other users), worst run.`);
out(`rbd CLI start-up (process, conf, auth, maps; an 'rbd ls'): ${startSecs}s wall, ${startCpu} CPU-s per invocation`);
table(['', 'imaged CPU-s', 'curl CPU-s', 'CLI MB/s min', 'max', 'imaged MB/s min', 'max', 'ratio min', 'max', 'other load (CPUs)'], diag);
const busiest = Math.max(...runs.map((r) => r.otherCores));
if (busiest > 0.25) {
  out(`WARNING: other processes kept up to ${f(busiest, 2)} of the CPUs busy during some runs: numbers are noisy, re-run on a quiet box`);
}
out();
out(`target (issue): imaged's rbd store >= ${TARGET.toFixed(1)}x the rbd CLI's throughput, both ways`);
for (const s of summary) out(s);
if (summaryFile) appendFileSync(summaryFile, summary.join('\n') + '\n');
