import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { pino } from 'pino';
import { ImageCache, type CacheEntry, type CacheRead } from '../../src/cache/cache.js';
import type { ImageRecord } from '../../src/images/record.js';

// The cache on a real directory and LMDB; the sources are in-memory streams standing in for a store.

const t = suite<{ dir: string; cache: ImageCache; db: any; reads: number }>('image cache');

function image(data: Buffer, over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: over.id ?? crypto.randomUUID(), name: null, status: 'active', visibility: 'shared', protected: false, os_hidden: false,
    owner: null, checksum: createHash('md5').update(data).digest('hex'), os_hash_algo: 'sha512',
    os_hash_value: createHash('sha512').update(data).digest('hex'), xxh3: null, size: data.length, virtual_size: null,
    min_ram: 0, min_disk: 0, disk_format: 'raw', container_format: 'bare', created_at: '', updated_at: '', tags: [],
    properties: {}, locations: [], ...over,
  };
}

/** A source that yields `data` in 64 KiB pieces, pausing `delayMs` between them. */
function slowSource(ctx: { reads: number }, data: Buffer, delayMs = 0) {
  return async () => {
    ctx.reads++;
    let off = 0;
    return new Readable({
      read() {
        setTimeout(() => {
          if (off >= data.length) return void this.push(null);
          this.push(data.subarray(off, off + 65536));
          off += 65536;
        }, delayMs);
      },
    });
  };
}

async function readAll(r: CacheRead): Promise<Buffer> {
  const out = Buffer.alloc(r.size);
  let pos = 0;
  try {
    while (pos < r.size) {
      const end = r.available ? await r.available(pos) : r.size;
      const fh = await fsp.open(`/proc/self/fd/${r.fd}`, 'r');
      await fh.read(out, pos, end - pos, pos);
      await fh.close();
      pos = end;
    }
  } finally {
    await r.close();
  }
  return out;
}

t.before.each((ctx) => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-cache-'));
  ctx.db = openLmdb({ path: path.join(ctx.dir, 'db') });
  ctx.reads = 0;
  ctx.cache = new ImageCache({
    dir: path.join(ctx.dir, 'cache'), maxSize: 10 << 20, hardMaxSize: 15 << 20, stallTimeSec: 1, prefetchWorkers: 2,
    hashAlgo: 'sha512', hashInWorkers: true,
  }, ctx.db.openDB({ name: 'cache' }), pino({ level: 'silent' }));
  mkdirSync(path.join(ctx.dir, 'cache'), { recursive: true });
});
t.after.each(async (ctx) => {
  await ctx.db.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

t('concurrent readers share one fill and stream while it grows; then it is a hit', async (ctx) => {
  await ctx.cache.init();
  const data = randomBytes(3 << 20);
  const img = image(data);
  const src = slowSource(ctx, data, 1);
  const reads = await Promise.all(Array.from({ length: 8 }, () => ctx.cache.open(img, src)));
  assert.ok(reads.every((r) => r && r.available), 'readers follow the fill');
  const bodies = await Promise.all(reads.map((r) => readAll(r!)));
  for (const b of bodies) assert.ok(b.equals(data));
  assert.is(ctx.reads, 1);
  assert.ok(ctx.cache.isCached(img.id));
  const hit = await ctx.cache.open(img, src);
  assert.is(hit!.available, undefined);
  assert.ok((await readAll(hit!)).equals(data));
  assert.is(ctx.reads, 1);
  assert.is(ctx.cache.list().cached[0].hits, 1);
});

t('a fill whose bytes do not match the checksums is discarded; readers fail; never served as cached', async (ctx) => {
  await ctx.cache.init();
  const data = randomBytes(1 << 20);
  const img = image(data, { os_hash_value: '0'.repeat(128) });
  const r = await ctx.cache.open(img, slowSource(ctx, data));
  let failed = false;
  try {
    await readAll(r!);
  } catch {
    failed = true;
  }
  assert.ok(failed, 'the reader must see a failure, never the whole body');
  assert.not.ok(ctx.cache.isCached(img.id));
  assert.equal(readdirSync(path.join(ctx.dir, 'cache', 'incomplete')), []);
  assert.not.ok(readdirSync(path.join(ctx.dir, 'cache')).includes(img.id));
});

t('without an os_hash the md5 verifies the fill', async (ctx) => {
  await ctx.cache.init();
  const data = randomBytes(1 << 20);
  const img = image(data, { checksum: '0'.repeat(32), os_hash_algo: null, os_hash_value: null });
  const r = await ctx.cache.open(img, slowSource(ctx, data));
  const err = await readAll(r!).then(() => null, (e) => e);
  assert.ok(err, 'a wrong md5 fails the fill');
  assert.not.ok(ctx.cache.isCached(img.id));
});

t('a stalled fill is abandoned after the stall time', async (ctx) => {
  await ctx.cache.init();
  const data = randomBytes(1 << 20);
  const img = image(data);
  const stalled = async () => new Readable({ read() { /* never produces */ } });
  const r = await ctx.cache.open(img, stalled);
  const t0 = Date.now();
  const err = await r!.available!(0).then(() => null, (e) => e);
  assert.match(String(err), /stalled/);
  assert.ok(Date.now() - t0 < 3000);
  await r!.close();
  assert.not.ok(ctx.cache.isCached(img.id));
});

t('LRU eviction keeps the cache under its size and never evicts an entry being read', async (ctx) => {
  await ctx.cache.init();
  const imgs = [0, 1, 2].map(() => randomBytes(4 << 20)).map((d) => ({ d, img: image(d) }));
  const held = await ctx.cache.open(imgs[0].img, slowSource(ctx, imgs[0].d));
  await readAll({ ...held!, close: async () => {} }); // fully read but still open
  await (await ctx.cache.open(imgs[1].img, slowSource(ctx, imgs[1].d)))!.close();
  await new Promise((r) => setTimeout(r, 200));
  const r2 = await ctx.cache.open(imgs[2].img, slowSource(ctx, imgs[2].d));
  await readAll(r2!);
  await new Promise((r) => setTimeout(r, 200));
  const cached = ctx.cache.list().cached.map((e) => e.id);
  assert.ok(cached.includes(imgs[0].img.id), 'the entry being read stays');
  assert.not.ok(cached.includes(imgs[1].img.id), 'the least recently used idle entry goes');
  assert.ok(cached.includes(imgs[2].img.id));
  await held!.close();
});

t('start-up removes incomplete fills and unindexed files', async (ctx) => {
  const dir = path.join(ctx.dir, 'cache');
  mkdirSync(path.join(dir, 'incomplete'), { recursive: true });
  const id = crypto.randomUUID();
  writeFileSync(path.join(dir, 'incomplete', id), 'partial');
  writeFileSync(path.join(dir, crypto.randomUUID()), 'never verified');
  await ctx.cache.init();
  assert.equal(readdirSync(path.join(dir, 'incomplete')), []);
  assert.equal(readdirSync(dir).filter((n) => n !== 'incomplete'), []);
});

t('too big for the hard limit: served without the cache', async (ctx) => {
  await ctx.cache.init();
  const img = image(Buffer.alloc(0), { size: 16 << 20 });
  assert.is(await ctx.cache.open(img, slowSource(ctx, Buffer.alloc(0))), null);
  void readFileSync;
});

t.run();
