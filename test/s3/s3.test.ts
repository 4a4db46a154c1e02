import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { startTestDaemon, ADMIN, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload, PATCH_TYPE } from '../helpers/http.js';
import { freshBucket, s3Client, s3Env, withS3, type S3Env } from './env.js';
import { CuttableProxy } from './proxy.js';

// The S3 store against the RGW of the one-node Ceph cluster test/run starts (test/env/ceph.sh).

const MiB = 1 << 20;
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storeDetail(d: TestDaemon, id = 'objects') {
  const r = await request(`${d.url}/v2/info/stores/detail`, { headers: ADMIN });
  return r.json.stores.find((x: any) => x.id === id);
}

async function waitAvailable(d: TestDaemon, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    const s = await storeDetail(d);
    if (!s.unavailable) return;
    if (Date.now() > until) throw new Error(`store still unavailable: ${s.unavailable}`);
    await sleep(100);
  }
}

/** The reason once the first connection attempt has settled. */
async function settledReason(d: TestDaemon): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const why: string = (await storeDetail(d)).unavailable ?? '';
    if (why && !/connecting/.test(why)) return why;
    await sleep(100);
  }
  throw new Error('the store never settled on a reason');
}

/** HeadObject, or null when there is no such object. */
async function head(c: S3Client, bucket: string, key: string) {
  try {
    return await c.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if ((e as any).$metadata?.httpStatusCode === 404) return null;
    throw e;
  }
}

async function pendingUploads(c: S3Client, bucket: string, key: string) {
  const r = await c.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  return r.Uploads ?? [];
}

/** PUT /file with Transfer-Encoding: chunked (no size known up front). */
function uploadChunked(base: string, id: string, data: Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(`${base}/v2/images/${id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    for (let o = 0; o < data.length; o += 65536) req.write(data.subarray(o, o + 65536));
    req.end();
  });
}

/** Sends `sent` bytes of an announced `total`, runs `meanwhile`, then drops the connection. */
function uploadCut(base: string, id: string, total: number, sent: number, meanwhile: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.request(`${base}/v2/images/${id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': total } });
    req.on('error', () => {});
    req.write(randomBytes(sent), () => {
      void sleep(500).then(meanwhile).then(resolve, reject).finally(() => req.destroy());
    });
  });
}

async function download(d: TestDaemon, id: string, range?: string) {
  return request(`${d.url}/v2/images/${id}/file`, { headers: range ? { Range: range } : {} });
}

interface Ctx {
  d: TestDaemon;
  s3: S3Env;
  c: S3Client;
  bucket: string;
}

const t = suite<Ctx>('s3 store on Ceph RGW');
t.before(async (ctx) => {
  try {
    ctx.s3 = s3Env();
    ctx.c = s3Client(ctx.s3);
    ctx.bucket = freshBucket('s3');
    // 6 MiB / 5 MiB: S3's smallest part size, so a 20 MiB image is a real multipart upload; 3 parts in flight.
    ctx.d = await startTestDaemon({
      tweak: (c) => {
        withS3(c, ctx.s3, { bucket: ctx.bucket, largeObjectSize: 6 * MiB, largeObjectChunkSize: 5 * MiB, threadPools: 3 });
        c.showMultipleLocations = true;
      },
      showDirectUrl: true,
    });
    await waitAvailable(ctx.d);
  } catch (e) {
    console.error(`s3 store tests cannot start: ${(e as Error).message}`); // uvu counts the tests failed but prints nothing
    throw e;
  }
});
t.after(async (ctx) => {
  await ctx.d?.stop();
  ctx.c?.destroy();
});

t('stores detail: available, glance properties; the bucket is created by the first upload', async ({ d, c, bucket }) => {
  const s = await storeDetail(d);
  assert.is(s.type, 's3');
  assert.is(s.default, 'true');
  assert.equal(s.properties, {
    s3_store_large_object_size: 6 * MiB, s3_store_large_object_chunk_size: 5 * MiB, s3_store_thread_pools: 3,
    bucket, host: (d.config.stores[0].s3!).host,
  });
  const before = await c.send(new HeadBucketCommand({ Bucket: bucket })).then(() => 200, (e) => e.$metadata?.httpStatusCode);
  assert.is(before, 404);
  const data = randomBytes(1000);
  const img = await createImage(d.url, { name: 's3-first' });
  assert.is((await upload(d.url, img.id, data)).status, 204);
  await c.send(new HeadBucketCommand({ Bucket: bucket }));
});

t('known size below large_object_size: one streamed PutObject, glance location, download, ranges', async ({ d, c, s3, bucket }) => {
  const data = randomBytes(4 * MiB + 7);
  const img = await createImage(d.url, { name: 's3-small' });
  const r = await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length });
  assert.is(r.status, 204, r.body.toString());
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.stores, 'objects');
  assert.is(s.size, data.length);
  assert.is(s.checksum, md5(data));
  assert.is(s.os_hash_value, createHash('sha512').update(data).digest('hex'));
  const host = s3.endpoint.replace('http://', '');
  assert.is(s.direct_url, `s3://${s3.accessKey}:${s3.secretKey}@${host}/${bucket}/${img.id}`);
  const h = await head(c, bucket, img.id);
  assert.is(h?.ContentLength, data.length);
  assert.is(h?.ETag, `"${md5(data)}"`); // not multipart
  const g = await download(d, img.id);
  assert.is(g.status, 200);
  assert.ok(g.body.equals(data));
  const rg = await download(d, img.id, 'bytes=1000000-3000000');
  assert.is(rg.status, 206);
  assert.ok(rg.body.equals(data.subarray(1000000, 3000001)));
  const tail = await download(d, img.id, 'bytes=-10');
  assert.is(tail.status, 206);
  assert.ok(tail.body.equals(data.subarray(data.length - 10)));
});

t('unknown size (chunked): small → one PutObject, beyond large_object_size → multipart', async ({ d, c, bucket }) => {
  const small = randomBytes(3 * MiB + 1);
  const a = await createImage(d.url, { name: 's3-chunked-small' });
  assert.is(await uploadChunked(d.url, a.id, small), 204);
  assert.is((await head(c, bucket, a.id))?.ETag, `"${md5(small)}"`);
  assert.ok((await download(d, a.id)).body.equals(small));

  const big = randomBytes(17 * MiB + 123);
  const b = await createImage(d.url, { name: 's3-chunked-big' });
  assert.is(await uploadChunked(d.url, b.id, big), 204);
  const s = (await request(`${d.url}/v2/images/${b.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.size, big.length);
  assert.is(s.checksum, md5(big));
  const h = await head(c, bucket, b.id);
  assert.is(h?.ContentLength, big.length);
  assert.match(h?.ETag ?? '', /-4"$/); // 5 + 5 + 5 + 2 MiB
  assert.ok((await download(d, b.id)).body.equals(big));
});

t('known size at or above large_object_size: multipart in 5 MiB parts, intact download and ranges', async ({ d, c, bucket }) => {
  const data = randomBytes(23 * MiB + 5);
  const img = await createImage(d.url, { name: 's3-multipart' });
  const r = await upload(d.url, img.id, data, { 'x-openstack-image-size': data.length });
  assert.is(r.status, 204, r.body.toString());
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.checksum, md5(data));
  const h = await head(c, bucket, img.id);
  assert.is(h?.ContentLength, data.length);
  assert.match(h?.ETag ?? '', /-5"$/);
  assert.equal(await pendingUploads(c, bucket, img.id), []);
  const g = await download(d, img.id);
  assert.is(g.status, 200);
  assert.is(g.body.length, data.length);
  assert.ok(g.body.equals(data));
  const across = await download(d, img.id, `bytes=${5 * MiB - 100}-${15 * MiB + 100}`); // spans three parts
  assert.is(across.status, 206);
  assert.ok(across.body.equals(data.subarray(5 * MiB - 100, 15 * MiB + 101)));
  // exactly large_object_size is multipart too, as glance (< large_object_size is a single PUT)
  const edge = randomBytes(6 * MiB);
  const e = await createImage(d.url, { name: 's3-edge' });
  assert.is((await upload(d.url, e.id, edge)).status, 204);
  assert.match((await head(c, bucket, e.id))?.ETag ?? '', /-2"$/);
  assert.ok((await download(d, e.id)).body.equals(edge));
});

t('an empty image is an empty object', async ({ d, c, bucket }) => {
  const img = await createImage(d.url, { name: 's3-empty' });
  assert.is((await upload(d.url, img.id, Buffer.alloc(0))).status, 204);
  const s = (await request(`${d.url}/v2/images/${img.id}`)).json;
  assert.is(s.status, 'active');
  assert.is(s.size, 0);
  assert.is((await head(c, bucket, img.id))?.ContentLength, 0);
  const g = await download(d, img.id);
  assert.is(g.status, 200);
  assert.is(g.body.length, 0);
});

t('delete removes the object; a second store (file) takes uploads too', async ({ d, c, bucket }) => {
  const data = randomBytes(2 * MiB);
  const img = await createImage(d.url, { name: 's3-delete' });
  assert.is((await upload(d.url, img.id, data)).status, 204);
  assert.ok(await head(c, bucket, img.id));
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE' })).status, 204);
  assert.is(await head(c, bucket, img.id), null);

  const local = await createImage(d.url, { name: 's3-neighbour' });
  assert.is((await upload(d.url, local.id, data, { 'X-Image-Meta-Store': 'local' })).status, 204);
  assert.is((await request(`${d.url}/v2/images/${local.id}`)).json.stores, 'local');
  assert.is(await head(c, bucket, local.id), null);
});

t('uploads cut off midway leave no object and no pending multipart upload; the image is queued', async ({ d, c, bucket }) => {
  for (const [label, total, sent] of [['multipart', 64 * MiB, 17 * MiB], ['streamed', 5 * MiB, 2 * MiB]] as const) {
    const img = await createImage(d.url, { name: `s3-cut-${label}` });
    await uploadCut(d.url, img.id, total, sent, async () => {
      assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'saving');
      assert.is((await pendingUploads(c, bucket, img.id)).length, label === 'multipart' ? 1 : 0, label);
    });
    let st = '';
    let obj: unknown = null;
    let pending: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      st = (await request(`${d.url}/v2/images/${img.id}`)).json.status;
      obj = await head(c, bucket, img.id);
      pending = await pendingUploads(c, bucket, img.id);
      if (st === 'queued' && !obj && pending.length === 0) break;
      await sleep(100);
    }
    assert.is(st, 'queued', label);
    assert.is(obj, null, label);
    assert.equal(pending, [], label);
  }
});

t('registers an object written by another S3 client by its location; refuses other buckets', async ({ d, c, s3, bucket }) => {
  const data = randomBytes(MiB + 3);
  const img = await createImage(d.url, { name: 's3-registered' });
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: img.id, Body: data }));
  const host = s3.endpoint.replace('http://', '');
  const add = (id: string, url: string, extra: object = {}) => request(`${d.url}/v2/images/${id}`, {
    method: 'PATCH', headers: { 'Content-Type': PATCH_TYPE },
    body: JSON.stringify([{ op: 'add', path: '/locations/-', value: { url, metadata: {}, ...extra } }]),
  });
  const r = await add(img.id, `s3://${s3.accessKey}:${s3.secretKey}@${host}/${bucket}/${img.id}`, { validation_data: { checksum: md5(data) } });
  assert.is(r.status, 200, r.body.toString());
  assert.is(r.json.status, 'active');
  assert.is(r.json.size, data.length);
  assert.ok((await download(d, img.id)).body.equals(data));
  const other = await createImage(d.url, { name: 's3-other-bucket' });
  assert.is((await add(other.id, `s3://${s3.accessKey}:${s3.secretKey}@${host}/not-ours/${other.id}`)).status, 400);
  assert.is((await add(other.id, `s3://${s3.accessKey}:${s3.secretKey}@${host}/${bucket}/no-such-object`)).status, 400);
});

t('wrong secret: unavailable naming endpoint and bucket (never the secret); uploads 503, image queued', async ({ s3 }) => {
  const bucket = freshBucket('badkey');
  const secret = `${s3.secretKey.slice(0, -4)}XXXX`;
  const d = await startTestDaemon({ tweak: (c) => withS3(c, s3, { bucket, secretKey: secret }) });
  try {
    const why = await settledReason(d);
    assert.ok(why.includes(s3.endpoint), why);
    assert.ok(why.includes(bucket), why);
    assert.match(why, /403/);
    assert.not.ok(why.includes(secret), why);
    const img = await createImage(d.url);
    const up = await upload(d.url, img.id, Buffer.alloc(1024, 1));
    assert.is(up.status, 503);
    assert.not.ok(up.body.toString().includes(secret));
    assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
    assert.is((await upload(d.url, img.id, Buffer.alloc(1024, 1), { 'X-Image-Meta-Store': 'local' })).status, 204);
  } finally {
    await d.stop();
  }
});

t('unreachable endpoint, or missing bucket without create_on_put (until it appears): unavailable with the reason, uploads 503', async ({ s3, c }) => {
  const cases = [
    { host: 'http://127.0.0.1:1', bucket: freshBucket('down'), want: /unreachable: connect ECONNREFUSED/ },
    { bucket: freshBucket('missing'), createBucketOnPut: false, want: /does not exist.*s3_store_create_bucket_on_put/ },
  ];
  for (const { want, ...s3o } of cases) {
    const d = await startTestDaemon({ tweak: (c) => withS3(c, s3, s3o) });
    try {
      const why = await settledReason(d);
      assert.ok(why.includes(s3o.host ?? s3.endpoint), why);
      assert.ok(why.includes(s3o.bucket), why);
      assert.match(why, want);
      const img = await createImage(d.url);
      assert.is((await upload(d.url, img.id, Buffer.alloc(1024, 1))).status, 503);
      assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
      if (s3o.createBucketOnPut === false) {
        // retried in the background: once the bucket is there, the store takes uploads
        await c.send(new CreateBucketCommand({ Bucket: s3o.bucket }));
        await waitAvailable(d, 15_000);
        assert.is((await upload(d.url, img.id, Buffer.alloc(1024, 1))).status, 204);
      }
    } finally {
      await d.stop();
    }
  }
});

t('endpoint lost mid-upload: 503, image queued, reads 503, store unavailable; all back when it returns', async ({ s3 }) => {
  const u = new URL(s3.endpoint);
  const proxy = await new CuttableProxy({ host: u.hostname, port: Number(u.port) }).listen();
  const host = `http://127.0.0.1:${proxy.port}`;
  const d = await startTestDaemon({
    tweak: (c) => withS3(c, s3, { host, bucket: freshBucket('cut'), largeObjectSize: 6 * MiB, largeObjectChunkSize: 5 * MiB, threadPools: 2 }),
  });
  try {
    await waitAvailable(d);
    const kept = randomBytes(3 * MiB);
    const k = await createImage(d.url, { name: 's3-kept' });
    assert.is((await upload(d.url, k.id, kept)).status, 204);

    const img = await createImage(d.url, { name: 's3-lost' });
    const status = await new Promise<number>((resolve) => {
      let answered = false;
      const req = http.request(`${d.url}/v2/images/${img.id}/file`, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': 40 * MiB } }, (res) => {
        answered = true;
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', () => resolve(-1));
      void (async () => {
        for (let off = 0; off < 40 * MiB && !answered; off += MiB) {
          if (off === 12 * MiB) await proxy.cut();
          if (!req.write(randomBytes(MiB))) await new Promise((r) => req.once('drain', r));
        }
        if (!answered) req.end();
      })().catch(() => {});
    });
    assert.is(status, 503);
    assert.is((await request(`${d.url}/v2/images/${img.id}`)).json.status, 'queued');
    const why: string = (await storeDetail(d)).unavailable ?? '';
    assert.ok(why.includes(host), why);
    assert.match(why, /unreachable: .*ECONN(REFUSED|RESET)/);
    assert.is((await download(d, k.id)).status, 503);

    await proxy.restore();
    await waitAvailable(d, 15_000);
    assert.ok((await download(d, k.id)).body.equals(kept));
    assert.is((await upload(d.url, img.id, randomBytes(7 * MiB))).status, 204);
  } finally {
    await d.stop();
    await proxy.close();
  }
});

t.run();
