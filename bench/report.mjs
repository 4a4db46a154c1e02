// Turns the per-run TSVs of bench/download.sh and bench/upload.sh into tables.
//   node report.mjs download RESULTS.tsv [SUMMARY_FILE]
//   node report.mjs upload RESULTS.tsv IDLE_PROBE.json [SUMMARY_FILE]
// MB = 10^6 bytes; GiB = 2^30 bytes. Lines starting with "TARGET" are also appended to SUMMARY_FILE.
import { appendFileSync, readFileSync } from 'node:fs';
import { readTsv, median, f, pad, out, table } from './stats.mjs';

const GIB = 2 ** 30;
const TARGET_DL_THROUGHPUT = 0.95; // imaged/nginx, at least
const TARGET_DL_CPU = 1.5; // imaged/nginx CPU-s per GiB, at most
const TARGET_UL_MBPS = 300;
const TARGET_UL_CHUNKED = 0.95; // chunked / Content-Length upload throughput, at least

const [mode, file, ...rest] = process.argv.slice(2);

const summary = [];

if (mode === 'download') {
  const [summaryFile] = rest;
  const runs = readTsv(file).map((r) => ({
    ...r,
    // client side: bytes wrk read in its own run time; what the server wrote includes bytes still unread in
    // socket buffers when wrk stopped (kept as a diagnostic)
    mbps: r.client_bytes / r.client_secs / 1e6,
    serverMbps: r.bytes / r.secs / 1e6,
    cpuPerGib: r.cpu_s / (r.client_bytes / GIB),
    pairPerGib: (r.cpu_s + r.client_cpu_s) / (r.client_bytes / GIB),
    otherCores: r.other_cpu_s / r.secs,
    kibPerCall: r.write_calls ? r.bytes / r.write_calls / 1024 : NaN,
  }));
  const conns = [...new Set(runs.map((r) => r.c))];
  out('DOWNLOAD: MB/s = bytes wrk read / wrk\'s run time (bench/wrk-bytes.lua); CPU-s/GiB = server CPU (utime+stime: nginx');
  out('master+workers, imaged node process incl. all threads) per GiB read by wrk; medians over rounds; ratio = median of the');
  out('per-round imaged/nginx ratios. Server-side bytes (/proc/PID/io wchar, counts sendfile) are in the diagnostics.');
  out();
  const rows = [];
  const diag = [];
  const verdicts = [];
  for (const c of conns) {
    const by = (s) => runs.filter((r) => r.c === c && r.server === s);
    const ng = by('nginx');
    const im = by('imaged');
    const pairs = ng.map((n) => [n, im.find((i) => i.round === n.round)]).filter(([, i]) => i);
    const ratio = (k) => median(pairs.map(([n, i]) => i[k] / n[k]));
    const med = (rs, k) => median(rs.map((r) => r[k]));
    const thrRatio = ratio('mbps');
    const cpuRatio = ratio('cpuPerGib');
    const errs = [...ng, ...im].reduce((a, r) => a + (Number(r.sock_errors) || 0) + (Number(r.non2xx) || 0), 0);
    const okThr = thrRatio >= TARGET_DL_THROUGHPUT;
    const okCpu = cpuRatio <= TARGET_DL_CPU;
    verdicts.push({ c, thrRatio, cpuRatio, okThr, okCpu });
    rows.push([
      c, pairs.length,
      f(med(ng, 'mbps')), f(med(im, 'mbps')), f(thrRatio, 3), okThr ? 'PASS' : 'FAIL',
      f(med(ng, 'cpuPerGib'), 3), f(med(im, 'cpuPerGib'), 3), f(cpuRatio, 3), okCpu ? 'PASS' : 'FAIL',
    ]);
    diag.push([
      c, f(med(ng, 'pairPerGib'), 3), f(med(im, 'pairPerGib'), 3), f(ratio('pairPerGib'), 3),
      f(med(ng, 'serverMbps')), f(med(im, 'serverMbps')),
      f(med(ng, 'kibPerCall')), f(med(im, 'kibPerCall')), f(Math.max(...ng.map((r) => r.otherCores), ...im.map((r) => r.otherCores)), 2), errs,
    ]);
  }
  table(['c', 'rounds', 'nginx MB/s', 'imaged MB/s', 'ratio', '>=0.95x', 'nginx CPU-s/GiB', 'imaged CPU-s/GiB', 'ratio', '<=1.5x'], rows);
  out();
  out('diagnostics: server+wrk CPU-s/GiB does not care which side loopback softirqs get charged to; server-side MB/s = bytes');
  out('the server wrote (wchar) / wall time around wrk; KiB/call = bytes per write-type syscall (sendfile/write/writev, syscw);');
  out('other load = CPUs busy with anything else (/proc/stat), worst run');
  table(['c', 'server+wrk CPU-s/GiB nginx', 'imaged', 'ratio', 'server-side MB/s nginx', 'imaged', 'KiB/call nginx', 'imaged', 'other load (CPUs)', 'wrk errors'], diag);
  const busiest = Math.max(...runs.map((r) => r.otherCores));
  if (busiest > 0.25) {
    out(`WARNING: other processes kept up to ${f(busiest, 2)} of the CPUs busy during some runs: numbers are noisy, re-run on a quiet box`);
  }
  out();
  out(`targets (issue): download >= ${TARGET_DL_THROUGHPUT}x nginx throughput and <= ${TARGET_DL_CPU}x its CPU/GiB at every c`);
  for (const v of verdicts) {
    const s = `TARGET download c=${v.c}: throughput ${f(v.thrRatio, 3)}x nginx (>= ${TARGET_DL_THROUGHPUT}) ${v.okThr ? 'PASS' : 'FAIL'}; CPU/GiB ${f(v.cpuRatio, 3)}x nginx (<= ${TARGET_DL_CPU}) ${v.okCpu ? 'PASS' : 'FAIL'}`;
    out(s);
    summary.push(s);
  }
  if (summaryFile) appendFileSync(summaryFile, summary.join('\n') + '\n');
} else if (mode === 'upload') {
  const [idlePath, summaryFile] = rest;
  const runs = readTsv(file).map((r) => ({
    client: 'cl', // files from before the client column
    ...r, mbps: r.bytes / r.secs / 1e6, cpuPerGib: r.cpu_s / (r.bytes / GIB), otherCores: r.other_cpu_s / r.secs,
  }));
  const clients = [...new Set(runs.map((r) => r.client))];
  const idle = JSON.parse(readFileSync(idlePath, 'utf8'));
  out('UPLOAD: 1 GiB per run; cl = curl -T (Content-Length), chunked = curl -T with Transfer-Encoding: chunked, glance = glance image-create');
  out('--file (chunked); MB/s = bytes / the client\'s time (curl time_total; glance: the whole command); CPU = imaged node process');
  out('utime+stime (all threads: md5 + sha512 hash workers, xxh3, file writes); client = the client\'s own CPU; other load = CPUs busy');
  out('with anything else; event-loop probe = GET /healthcheck every 10 ms on one keep-alive connection');
  out();
  const rows = runs.map((r) => [
    r.round, r.client, f(r.mbps), f(r.cpu_s, 2), f(r.cpuPerGib, 3), f(r.client_cpu_s, 2), f(r.otherCores, 2), r.probe_n, f(r.p50, 2), f(r.p99, 2), f(r.max, 2), r.probe_errors, r.probe_late, r.verified,
  ]);
  rows.push(['idle', '', '', '', '', '', '', idle.n, f(idle.p50, 2), f(idle.p99, 2), f(idle.max, 2), idle.errors, idle.late, '']);
  for (const c of clients) {
    const rs = runs.filter((r) => r.client === c);
    rows.push([
      'median', c, f(median(rs.map((r) => r.mbps))), f(median(rs.map((r) => r.cpu_s)), 2), f(median(rs.map((r) => r.cpuPerGib)), 3), f(median(rs.map((r) => r.client_cpu_s)), 2), '', '',
      f(median(rs.map((r) => r.p50)), 2), f(median(rs.map((r) => r.p99)), 2), f(Math.max(...rs.map((r) => r.max)), 2) + ' (max)', '', rs.reduce((a, r) => a + (Number(r.probe_late) || 0), 0) + ' (sum)', '',
    ]);
  }
  out('late = probes sent more than 2 intervals (20 ms) behind schedule: the event loop was too busy to send them on time');
  table(['round', 'client', 'MB/s', 'CPU-s', 'CPU-s/GiB', 'client CPU-s', 'other load (CPUs)', 'probes', 'p50 ms', 'p99 ms', 'max ms', 'probe errs', 'late', 'image check'], rows);
  const busiest = Math.max(...runs.map((r) => r.otherCores));
  if (busiest > 0.25) {
    out(`WARNING: other processes kept up to ${f(busiest, 2)} of the CPUs busy during some uploads: numbers are noisy, re-run on a quiet box`);
  }
  out();
  // same-round ratios against the Content-Length upload: the load on a shared box moves both alike
  const vsCl = (c, k) => median(runs.filter((r) => r.client === c).map((r) => {
    const cl = runs.find((x) => x.client === 'cl' && x.round === r.round);
    return cl ? r[k] / cl[k] : NaN;
  }).filter((x) => !Number.isNaN(x)));
  const others = clients.filter((c) => c !== 'cl');
  if (clients.includes('cl') && others.length) {
    table(['client', 'MB/s vs cl (median of same-round ratios)', 'imaged CPU-s/GiB vs cl'], others.map((c) => [c, f(vsCl(c, 'mbps'), 3), f(vsCl(c, 'cpuPerGib'), 3)]));
    out();
  }
  const cl = runs.filter((r) => r.client === (clients.includes('cl') ? 'cl' : clients[0]));
  const med = median(cl.map((r) => r.mbps));
  const min = Math.min(...cl.map((r) => r.mbps));
  const s = `TARGET upload (${cl[0].client}): median ${f(med)} MB/s (min ${f(min)}) >= ${TARGET_UL_MBPS} MB/s ${med >= TARGET_UL_MBPS ? 'PASS' : 'FAIL'}; ` +
    `event loop during upload p99 ${f(median(runs.map((r) => r.p99)), 2)} ms / max ${f(Math.max(...runs.map((r) => r.max)), 2)} ms ` +
    `(idle p99 ${f(idle.p99, 2)} ms), ${runs.reduce((a, r) => a + (Number(r.probe_late) || 0), 0)} probes late (idle ${idle.late}); all images verified: ${runs.every((r) => r.verified === 'ok') ? 'yes' : 'NO'}`;
  out(`targets (issue): upload >= ${TARGET_UL_MBPS} MB/s; chunked >= ${TARGET_UL_CHUNKED}x the Content-Length upload's throughput, same run`);
  out(s);
  summary.push(s);
  if (clients.includes('cl') && clients.includes('chunked')) {
    const ratio = vsCl('chunked', 'mbps');
    const c = `TARGET upload chunked: ${f(ratio, 3)}x the Content-Length throughput (>= ${TARGET_UL_CHUNKED}) ${ratio >= TARGET_UL_CHUNKED ? 'PASS' : 'FAIL'}; ` +
      `imaged CPU-s/GiB ${f(median(runs.filter((r) => r.client === 'chunked').map((r) => r.cpuPerGib)), 3)} vs ${f(median(cl.map((r) => r.cpuPerGib)), 3)}`;
    out(c);
    summary.push(c);
  }
  if (summaryFile) appendFileSync(summaryFile, summary.join('\n') + '\n');
} else {
  console.error('usage: report.mjs download RESULTS.tsv [SUMMARY] | upload RESULTS.tsv IDLE.json [SUMMARY]');
  process.exit(2);
}
