// Turns the per-run TSV of bench/import.sh into a table: imaged's copy-image vs the stores' CLIs.
//   node import-report.mjs RESULTS.tsv FLOOR_MBPS FLOOR_CPU CLI_STARTUP_TEXT SWIFT_SEGMENTATION_TEXT [STARTUP_JSON]
// STARTUP_JSON: {"file->rbd": [wall_s, cpu_s], ...}, what the path's CLIs cost before any data moves; the
// 'excl. start-up' columns subtract it from the CLI side (imaged is a running daemon: it pays none per copy).
// MB = 10^6 bytes. No target: ratios are reported (imaged/CLI, median of the per-round ratios).
import { readTsv, median, f, out, table } from './stats.mjs';

const [file, floorMbps, floorCpu, startup, segText, startupJson] = process.argv.slice(2);
const startupBy = startupJson ? JSON.parse(startupJson) : {};

const range = (xs, d = 0) => (xs.length ? `${f(Math.min(...xs), d)}..${f(Math.max(...xs), d)}` : 'n/a');

const all = readTsv(file).map((r) => {
  const [s0, c0] = r.side === 'cli' ? startupBy[r.path] ?? [NaN, NaN] : [0, 0];
  return {
  ...r,
  mbps: r.ok === 'ok' ? r.bytes / r.secs / 1e6 : NaN,
  // without the CLI's start-up (wall and CPU); NaN when it was not measured
  netMbps: r.ok === 'ok' && r.secs > s0 ? r.bytes / (r.secs - s0) / 1e6 : NaN,
  netCpu: r.side_cpu_s - c0,
  backend: r.osd_cpu_s + r.rgw_cpu_s + r.swift_cpu_s,
  otherCores: r.other_cpu_s / r.window_s,
  };
});
const runs = all.filter((r) => r.ok === 'ok');

out('copy-image, 1 GiB per run. MB/s = 1 GiB / wall time: imaged = POST /import .. first GET (every 50 ms) listing the target;');
out('CLI = the whole command (process start-up, auth and connect included). CPU-s = utime+stime from /proc: imaged = its node');
out('process (all threads: librbd, libuv pool, the hash worker); CLI = every process of the command (rbd | s3cmd, swift);');
out('backend = ceph-osd + radosgw + the 4 Swift servers. Medians over rounds; ratio = median of per-round imaged/CLI ratios');
out('(throughput: > 1 = imaged faster; CPU: < 1 = imaged cheaper).');
out('Hashing differs: imaged hashes every copy with sha512 and compares it with the image\'s os_hash_value before listing it;');
out('rbd import/export hash nothing; s3cmd computes sha256 (SigV4 payload) and md5 (ETag check) of every part; swift upload');
out('computes the md5 of the object and checks it against the ETag. imaged\'s S3 client (AWS SDK, SigV4 over http) also');
out('sha256-signs every part. Both S3 sides send 10 MiB parts: imaged up to 10 at once, s3cmd one at a time.');
out(`Swift: ${segText}.`);
out();

const rows = [];
const netRows = [];
const diag = [];
for (const path of ['file->rbd', 'rbd->s3', 'file->swift']) {
  const cli = runs.filter((r) => r.path === path && r.side === 'cli');
  const im = runs.filter((r) => r.path === path && r.side === 'imaged');
  const pairs = cli.map((c) => [c, im.find((i) => i.round === c.round)]).filter(([, i]) => i);
  const ratio = (k) => median(pairs.map(([c, i]) => i[k] / c[k]));
  const med = (rs, k) => median(rs.map((r) => r[k]));
  const failed = all.filter((r) => r.path === path && r.ok !== 'ok').map((r) => `${r.side} r${r.round}`);
  rows.push([
    path, `${pairs.length}${failed.length ? ` (failed: ${failed.join(', ')})` : ''}`,
    f(med(cli, 'mbps')), f(med(im, 'mbps')), f(ratio('mbps'), 3),
    f(med(cli, 'side_cpu_s'), 2), f(med(im, 'side_cpu_s'), 2), f(ratio('side_cpu_s'), 3),
    f(med(cli, 'backend'), 2), f(med(im, 'backend'), 2),
  ]);
  netRows.push([path, f(med(cli, 'netMbps')), f(ratio('netMbps'), 3), f(med(cli, 'netCpu'), 2), f(median(pairs.map(([c, i]) => i.side_cpu_s / c.netCpu)), 3)]);
  diag.push([
    path, range(cli.map((r) => r.mbps)), range(im.map((r) => r.mbps)),
    range(pairs.map(([c, i]) => i.mbps / c.mbps), 3),
    `${f(med(cli, 'osd_cpu_s'), 2)}/${f(med(cli, 'rgw_cpu_s'), 2)}/${f(med(cli, 'swift_cpu_s'), 2)}`,
    `${f(med(im, 'osd_cpu_s'), 2)}/${f(med(im, 'rgw_cpu_s'), 2)}/${f(med(im, 'swift_cpu_s'), 2)}`,
    f(med(im, 'client_cpu_s'), 2),
    f(Math.max(...cli.map((r) => r.otherCores), ...im.map((r) => r.otherCores)), 2),
  ]);
}
table(['path', 'rounds', 'CLI MB/s', 'imaged MB/s', 'ratio', 'CPU-s CLI', 'imaged', 'ratio', 'backend CPU-s CLI', 'imaged'], rows);
out();
out(`sha512sum floor (coreutils, the same 1 GiB from the page cache): ${floorMbps} MB/s, ${floorCpu} CPU-s: imaged's verification`);
out('alone costs about that much CPU per copy (in a worker thread, overlapped with the transfer).');
out(`CLI start-up per invocation (median of 3, included above): ${startup}`);
out('the same without the CLIs\' start-up (rbd->s3: the slower of rbd and s3cmd for wall time, both for CPU):');
table(['path', 'CLI MB/s excl. start-up', 'ratio', 'CPU-s CLI excl. start-up', 'ratio'], netRows);
out();
out('diagnostics: spread over rounds (min..max); backend split OSD/RGW/Swift; poller = the 50 ms GET loop\'s own CPU;');
out('other load = CPUs busy with anything else (/proc/stat minus the side, backend and poller: mon, memcached, other users), worst run.');
table(['path', 'CLI MB/s', 'imaged MB/s', 'ratio', 'OSD/RGW/Swift CLI', 'imaged', 'poller CPU-s', 'other load (CPUs)'], diag);
const busiest = Math.max(...runs.map((r) => r.otherCores));
if (busiest > 0.25) {
  out(`WARNING: other processes kept up to ${f(busiest, 2)} of the CPUs busy during some runs: numbers are noisy, re-run on a quiet box`);
}
const failures = all.filter((r) => r.ok !== 'ok');
for (const r of failures) out(`FAILED: round ${r.round} ${r.path} ${r.side} after ${r.secs}s: ${r.note}`);
