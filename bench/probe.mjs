// Event-loop responsiveness seen from outside: GET URL every INTERVAL ms over one keep-alive
// connection, one request at a time (a late answer delays the next probe, it never piles up).
// Runs until SIGTERM/SIGINT, or for --seconds N; then prints one JSON line:
//   {"n":..,"p50":ms,"p99":ms,"max":ms,"errors":..,"late":..}
// `max` also counts a probe still unanswered when stopped. `late` = probes sent > 2 intervals behind schedule.
//   node probe.mjs http://127.0.0.1:PORT/healthcheck [--interval 10] [--seconds 5]
import http from 'node:http';

const args = process.argv.slice(2);
const url = new URL(args[0] ?? '');
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const interval = opt('interval', 10);
const seconds = opt('seconds', 0);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const samples = [];
let errors = 0;
let late = 0;
let inflightSince = null;
let stopped = false;
const t0 = performance.now();
let k = 0;

function once() {
  return new Promise((resolve) => {
    const start = performance.now();
    inflightSince = start;
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        inflightSince = null;
        if (res.statusCode === 200) samples.push(performance.now() - start);
        else errors++;
        resolve();
      });
    });
    req.on('error', () => {
      inflightSince = null;
      errors++;
      resolve();
    });
  });
}

async function loop() {
  while (!stopped) {
    await once();
    k++;
    const due = t0 + k * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (-wait > 2 * interval) {
      late++;
      k = Math.ceil((performance.now() - t0) / interval); // re-anchor: don't burst to catch up
    }
  }
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function finish() {
  if (stopped) return;
  stopped = true;
  const s = [...samples].sort((a, b) => a - b);
  let max = s.length ? s[s.length - 1] : null;
  if (inflightSince !== null) max = Math.max(max ?? 0, performance.now() - inflightSince);
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  process.stdout.write(JSON.stringify({ n: s.length, p50: r3(pct(s, 50)), p99: r3(pct(s, 99)), max: r3(max), errors, late }) + '\n');
  agent.destroy();
  process.exit(0);
}

process.on('SIGTERM', finish);
process.on('SIGINT', finish);
if (seconds > 0) setTimeout(finish, seconds * 1000);
loop();
