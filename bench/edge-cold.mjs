// One cold run of bench/edge.sh: N curl processes GET the same uncached image through the edge at once,
// while a watcher notes when the upstream started/finished sending (/proc/UP_PID/io wchar) and when the
// cache entry appears (GET /v2/cache). Writes one JSON document to --out; progress/errors go to stderr.
//   node edge-cold.mjs --url EDGE/v2/images/ID/file --cache-url EDGE/v2/cache --image ID --size BYTES
//        --clients N --up-pid PID --timeout SECONDS --out FILE [--md5]
// --md5: client 0 is `curl | md5sum` (bash, a plain pipe, not through node); the others discard (-o /dev/null).
// Times are ms from t0 = just before the first curl is spawned. Per client: start = spawn offset,
// ttfb/ttlb = curl's time_starttransfer/time_total (from its own start), code, bytes, curl's stderr.
// The launcher only waits: the bytes never pass through node.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const url = opt('url');
const cacheUrl = opt('cache-url');
const image = opt('image');
const size = Number(opt('size'));
const clients = Number(opt('clients', '1'));
const upPid = opt('up-pid');
const timeoutS = Number(opt('timeout', '600'));
const out = opt('out');
const withMd5 = args.includes('--md5');
if (!url || !cacheUrl || !image || !(size > 0) || !(clients > 0) || !upPid || !out) {
  console.error('usage: edge-cold.mjs --url U --cache-url U --image ID --size N --clients N --up-pid PID --timeout S --out FILE [--md5]');
  process.exit(2);
}

const upWchar = () => Number(/^wchar:\s*(\d+)/m.exec(readFileSync(`/proc/${upPid}/io`, 'utf8'))[1]);
const w0 = upWchar();
let t0 = performance.now();
const ms = () => performance.now() - t0;

// --- watcher: upstream progress every 10 ms, cache listing every 25 ms (one request at a time) -----------
const watch = { upFirstMs: null, upDoneMs: null, upBytes: 0, fillMs: null, cachePolls: 0, cacheErrors: 0 };
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let watching = true;
const upTimer = setInterval(() => {
  try {
    watch.upBytes = upWchar() - w0;
  } catch {
    return; // upstream gone: edge.sh notices
  }
  if (watch.upFirstMs === null && watch.upBytes >= 1 << 20) watch.upFirstMs = ms();
  if (watch.upDoneMs === null && watch.upBytes >= size) watch.upDoneMs = ms();
}, 10);
function pollCache() {
  if (!watching || watch.fillMs !== null) return;
  const req = http.get(cacheUrl, { agent }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      watch.cachePolls++;
      try {
        const j = JSON.parse(Buffer.concat(chunks).toString());
        if (j.cached_images.some((e) => e.image_id === image) && watch.fillMs === null) watch.fillMs = ms();
      } catch {
        watch.cacheErrors++;
      }
      setTimeout(pollCache, 25);
    });
  });
  req.setTimeout(10_000, () => req.destroy(new Error('cache poll timed out')));
  req.on('error', () => {
    watch.cacheErrors++;
    setTimeout(pollCache, 100);
  });
}

// --- the clients ------------------------------------------------------------------------------------------
const W = '%{http_code} %{time_starttransfer} %{time_total} %{size_download}';
const results = [];
let md5 = null;
const runs = [];
const children = [];
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      try {
        process.kill(c.spawnargs[0] === 'bash' ? -c.pid : c.pid, 'SIGTERM'); // bash: its own group (curl | md5sum)
      } catch {}
    }
    process.exit(sig === 'SIGTERM' ? 143 : 130);
  });
}
t0 = performance.now();
pollCache();
for (let i = 0; i < clients; i++) {
  const r = { i, start: ms(), end: null, code: 0, ttfb: NaN, ttlb: NaN, bytes: 0, exit: null, err: '' };
  results.push(r);
  const curlArgs = ['-sS', '-m', String(timeoutS)];
  let c;
  if (withMd5 && i === 0) {
    // curl | md5sum in bash (pipefail: curl's status wins); the write-out goes to stderr, the md5 to stdout.
    c = spawn('bash', ['-c', 'set -o pipefail; curl "$@" | md5sum', 'bash', ...curlArgs, '-w', `%{stderr}${W}`, '-o', '-', url],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let s = '';
    c.stdout.on('data', (d) => (s += d));
    c.on('close', () => (md5 = s.split(' ')[0].trim() || null));
  } else {
    c = spawn('curl', [...curlArgs, '-w', W, '-o', '/dev/null', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  children.push(c);
  let so = '';
  if (!(withMd5 && i === 0)) c.stdout.on('data', (d) => (so += d));
  c.stderr.on('data', (d) => (r.err += d));
  runs.push(new Promise((res) => c.on('close', (code, sig) => {
    r.end = ms();
    r.exit = sig ?? code;
    const m = /(\d{3}) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(so || r.err);
    if (m && !so) r.err = r.err.slice(0, m.index);
    if (m) {
      r.code = Number(m[1]);
      r.ttfb = Number(m[2]) * 1000;
      r.ttlb = Number(m[3]) * 1000;
      r.bytes = Number(m[4]);
    }
    r.err = r.err.trim().slice(0, 300);
    res();
  })));
}
const launchSpreadMs = ms();
await Promise.all(runs);
const clientsDoneMs = ms();
// The edge publishes the cache entry before it releases the last byte, so it should already be there.
const deadline = performance.now() + 30_000;
while (watch.fillMs === null && performance.now() < deadline) await new Promise((r) => setTimeout(r, 25));
watching = false;
clearInterval(upTimer);
try {
  watch.upBytes = upWchar() - w0;
} catch {}
agent.destroy();

writeFileSync(out, JSON.stringify({ clients, size, launchSpreadMs, clientsDoneMs, md5, ...watch, results }) + '\n');
const bad = results.filter((r) => r.code !== 200 || r.bytes !== size || r.exit !== 0);
if (bad.length) console.error(`edge-cold: ${bad.length}/${clients} clients failed, e.g. ${JSON.stringify(bad[0])}`);
