// One timed copy-image for bench/import.sh: POST /v2/images/ID/import {"method":{"name":"copy-image"},"stores":[STORE]},
// then GET /v2/images/ID every 50 ms until STORE is listed in `stores` and no longer in os_glance_importing_to_stores
// (done), or shows up in os_glance_failed_import (failed), or TIMEOUT_S pass.
//   node import-copy.mjs BASE_URL ID STORE TIMEOUT_S
// Prints one JSON line: {"ok":true,"secs":S,"accepted_ms":A,"polls":N} or {"ok":false,"secs":S,"why":"..."}.
// secs = from just before the POST to the answer of the first GET that shows the copy listed (so it is late
// by at most one poll interval plus one GET). Exit status 0 either way; 2 on bad arguments.
const [base, id, store, timeoutArg] = process.argv.slice(2);
if (!base || !id || !store) {
  console.error('usage: node import-copy.mjs BASE_URL ID STORE [TIMEOUT_S]');
  process.exit(2);
}
const timeoutMs = Number(timeoutArg || 600) * 1000;
const POLL_MS = 50;

const t0 = performance.now();
const since = () => (performance.now() - t0) / 1000;
const done = (o) => {
  console.log(JSON.stringify({ ...o, secs: Number(since().toFixed(3)) }));
  process.exit(0);
};
const list = (v) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

let accepted;
try {
  const res = await fetch(`${base}/v2/images/${id}/import`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ method: { name: 'copy-image' }, stores: [store] }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  accepted = performance.now() - t0;
  if (res.status !== 202) done({ ok: false, why: `POST import answered HTTP ${res.status}: ${body.slice(0, 300)}` });
} catch (e) {
  done({ ok: false, why: `POST import failed: ${e.message}` });
}

let polls = 0;
let last = '';
const deadline = t0 + timeoutMs;
let next = performance.now();
while (performance.now() < deadline) {
  next += POLL_MS;
  const wait = next - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  let img;
  try {
    const res = await fetch(`${base}/v2/images/${id}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) {
      last = `GET image answered HTTP ${res.status}`;
      continue;
    }
    img = await res.json();
  } catch (e) {
    last = `GET image failed: ${e.message}`;
    continue;
  }
  polls++;
  const failed = list(img.os_glance_failed_import);
  const importing = list(img.os_glance_importing_to_stores);
  const stores = list(img.stores);
  if (failed.includes(store)) done({ ok: false, why: `${store} listed in os_glance_failed_import (stores: ${img.stores ?? ''})`, polls });
  if (stores.includes(store) && !importing.includes(store)) {
    done({ ok: true, accepted_ms: Math.round(accepted), polls, stores: stores.join(',') });
  }
  if (importing.length === 0 && !stores.includes(store)) {
    done({ ok: false, why: `import finished without ${store} in stores (${img.stores ?? ''}) or in os_glance_failed_import`, polls });
  }
  last = `importing: ${importing.join(',')}; stores: ${stores.join(',')}`;
}
done({ ok: false, why: `no result after ${timeoutMs / 1000} s (${last})`, polls });
