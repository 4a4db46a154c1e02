import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from 'lmdb';
import { LmdbCatalog } from '../../src/catalog/lmdb/catalog.js';
import { indexKeys } from '../../src/catalog/lmdb/indexes.js';
import { HttpError } from '../../src/util/errors.js';
import { matches, parseListQuery, sortImages, type ListQuery } from '../../src/images/query.js';
import { inListing } from '../../src/auth/visibility.js';
import type { RequestContext } from '../../src/auth/context.js';
import type { ImageRecord, ImageStatus, Visibility } from '../../src/images/record.js';
import type { MemberStatus } from '../../src/images/member.js';

// The indexed listing of the LMDB catalog against an oracle: the listing as imaged did it before the indexes
// (every image filtered, sorted in memory, sliced at the marker), over random catalogs and random queries.
// Then: a page at 20k images reads a bounded number of records, and the indexes equal a rebuild after updates,
// removes and a migration of a catalog written without them.

/** mulberry32: a seeded generator, so a failure replays. */
function rng(seed: number) {
  let a = seed;
  const next = () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, pick, int: (n: number) => Math.floor(next() * n) };
}
type Rng = ReturnType<typeof rng>;

const PROJECTS = ['p1', 'p2', 'p3', 'p4', null];
// ties, nulls, a NUL, characters either side of the surrogates (UTF-16 order, not code point order)
const NAMES = [null, 'cirros', 'cirros', 'ubuntu', 'Ubuntu', 'a', 'ab', 'a\u0000b', '\uffff', '\u{1f600}', 'é', '', 'null', 'z z'];
const VIS: Visibility[] = ['public', 'private', 'shared', 'community'];
const STATUS: ImageStatus[] = ['queued', 'active', 'active', 'saving', 'deactivated', 'killed', 'importing'];
const TAGS = ['gold', 'silver', 'bronze', 'x'];
const FORMATS = [null, 'raw', 'qcow2'];
const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function randomImage(r: Rng, n: number): ImageRecord {
  const t = `2026-11-${String(1 + r.int(3)).padStart(2, '0')}T00:00:0${r.int(3)}.000000Z`; // many equal times
  return {
    id: uuid(n), name: r.pick(NAMES), status: r.pick(STATUS), visibility: r.pick(VIS), protected: r.next() < 0.2,
    os_hidden: r.next() < 0.15, owner: r.pick(PROJECTS), checksum: null, os_hash_algo: null, os_hash_value: null, xxh3: null,
    size: r.pick([null, 0, 5, 5, 1024, 2 ** 40]), virtual_size: null, min_ram: 0, min_disk: 0,
    disk_format: r.pick(FORMATS), container_format: r.pick(['bare', 'ovf', null]), created_at: t,
    updated_at: r.next() < 0.5 ? t : `2026-11-05T00:00:0${r.int(5)}.000000Z`,
    tags: TAGS.filter(() => r.next() < 0.3), properties: r.next() < 0.3 ? { os_distro: r.pick(['debian', 'fedora']) } : {}, locations: [],
  };
}

function randomQuery(r: Rng): string {
  const q = new URLSearchParams();
  const dir = () => r.pick(['asc', 'desc']);
  const keys = ['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at'];
  const s = r.int(4);
  if (s === 1) q.set('sort_key', r.pick(keys));
  if (s === 1 && r.next() < 0.5) q.set('sort_dir', dir());
  if (s === 2) q.set('sort', Array.from({ length: 1 + r.int(3) }, () => `${r.pick(keys)}:${dir()}`).join(','));
  if (s === 3) q.set('sort', `name:${dir()}`);
  if (r.next() < 0.3) q.set('visibility', r.pick([...VIS, 'all']));
  if (r.next() < 0.2) q.set('member_status', r.pick(['accepted', 'pending', 'rejected', 'all']));
  if (r.next() < 0.15) q.set('os_hidden', r.pick(['true', 'false']));
  if (r.next() < 0.2) q.set('name', r.pick(['cirros', 'ubuntu', 'null', 'in:a,ab', 'nope']));
  if (r.next() < 0.2) q.set('tag', r.pick(TAGS));
  if (r.next() < 0.15) q.set('status', r.pick(['active', 'in:queued,saving', 'deleted']));
  if (r.next() < 0.1) q.set('owner', r.pick(['p1', 'p2', 'null']));
  if (r.next() < 0.1) q.set('disk_format', r.pick(['raw', 'qcow2', 'in:raw,qcow2']));
  if (r.next() < 0.1) q.set('size_min', '5');
  if (r.next() < 0.1) q.set('os_distro', 'debian');
  if (r.next() < 0.1) q.set('created_at', 'gte:2026-11-02T00:00:00Z');
  q.set('limit', String(r.pick([0, 1, 2, 3, 7, 25, 1000])));
  return q.toString();
}

const ctxOf = (projectId: string | null, isAdmin: boolean) => ({ projectId, isAdmin, roles: [], userId: null, requestId: 'r' }) as RequestContext;

/** The listing as the image service asks it (policy aside): the accept test, the shared map, the marker check. */
function request(cat: LmdbCatalog, ctx: RequestContext, query: ListQuery) {
  const shared = ctx.projectId === null || ctx.isAdmin ? new Map<string, MemberStatus>() : cat.sharedWith(ctx.projectId, query.memberStatus === 'all' ? null : query.memberStatus);
  const accept = (img: ImageRecord) =>
    inListing(ctx, img, query, (i) => shared.get(i.id) ?? null) &&
    (query.osHidden === null ? !img.os_hidden : img.os_hidden === query.osHidden) &&
    query.filters.every((f) => matches(img, f));
  return { query, projectId: ctx.projectId, isAdmin: ctx.isAdmin, shared, accept };
}

async function indexedPage(cat: LmdbCatalog, ctx: RequestContext, query: ListQuery): Promise<string[] | 'bad marker'> {
  const req = request(cat, ctx, query);
  let marker: ImageRecord | null = null;
  if (query.marker !== null) {
    marker = cat.get(query.marker) ?? null;
    if (!marker || !req.accept(marker)) return 'bad marker';
  }
  const page = await cat.list({ ...req, marker });
  return [...page.images.map((i) => i.id), ...(page.more && page.images.length > 0 ? ['+more'] : [])];
}

/** imaged's listing before the indexes. */
function oraclePage(cat: LmdbCatalog, all: ImageRecord[], ctx: RequestContext, query: ListQuery): string[] | 'bad marker' {
  const { accept } = request(cat, ctx, query);
  let imgs = sortImages(all.filter(accept), query.sort);
  if (query.marker !== null) {
    const at = imgs.findIndex((i) => i.id === query.marker);
    if (at < 0) return 'bad marker';
    imgs = imgs.slice(at + 1);
  }
  const page = imgs.slice(0, query.limit);
  return [...page.map((i) => i.id), ...(page.length > 0 && page.length === query.limit && imgs.length > query.limit ? ['+more'] : [])];
}

function allImages(cat: LmdbCatalog): ImageRecord[] {
  return [...(cat as any).images.getRange()].map((e: { value: ImageRecord }) => e.value);
}

/** The index entries a rebuild from the records would write, against those in the database. */
function indexDrift(cat: LmdbCatalog): string[] {
  const want = new Map<string, string>();
  for (const img of allImages(cat)) for (const k of indexKeys(img)) want.set(k.toString('hex'), img.id);
  const have = new Map<string, string>();
  for (const { key, value } of cat.index.getRange()) have.set(Buffer.from(key).toString('hex'), value);
  const drift: string[] = [];
  for (const [k, v] of want) if (have.get(k) !== v) drift.push(`missing ${k} -> ${v}`);
  for (const [k, v] of have) if (!want.has(k)) drift.push(`stale ${k} -> ${v}`);
  return drift;
}

async function fill(cat: LmdbCatalog, r: Rng, n: number) {
  const imgs = Array.from({ length: n }, (_, i) => randomImage(r, i));
  await Promise.all(imgs.map((img) => cat.insert(img)));
  for (const img of imgs) {
    if (img.visibility !== 'shared' || r.next() < 0.3) continue;
    for (const p of ['p1', 'p2', 'p3']) {
      if (p === img.owner || r.next() < 0.5) continue;
      const status = r.pick(['accepted', 'pending', 'rejected'] as const);
      await cat.addMember({ image_id: img.id, member_id: p, status, created_at: img.created_at, updated_at: img.created_at }, () => {});
    }
  }
}

const t = suite<{ dir: string; cat: LmdbCatalog }>('catalog: indexed listing');
t.before.each((ctx) => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-catlist-'));
  ctx.cat = new LmdbCatalog(ctx.dir);
});
t.after.each(async (ctx) => {
  await ctx.cat.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

t('random catalogs and queries: the same pages as filtering and sorting the whole catalog', async ({ cat }) => {
  const r = rng(11);
  await fill(cat, r, 300);
  const all = allImages(cat);
  const ids = all.map((i) => i.id);
  let compared = 0;
  let withMarker = 0;
  for (let i = 0; i < 1500; i++) {
    const qs = randomQuery(r);
    const ctx = ctxOf(r.pick(PROJECTS), r.next() < 0.25);
    let query: ListQuery;
    try {
      query = parseListQuery(new URLSearchParams(qs));
    } catch (e) {
      assert.instance(e, HttpError);
      continue;
    }
    // markers: mostly images in the listing (every page of it), sometimes one that is not, or no image
    const full = oraclePage(cat, all, ctx, { ...query, limit: 1000, marker: null }) as string[];
    const markers = [null, r.pick(full.filter((x) => x !== '+more')) ?? null, r.pick(ids), 'no-such-image'];
    for (const marker of markers) {
      const q = { ...query, marker };
      const want = oraclePage(cat, all, ctx, q);
      const got = await indexedPage(cat, ctx, q);
      assert.equal(got, want, `${qs} marker=${marker} as ${ctx.isAdmin ? 'admin ' : ''}${ctx.projectId}`);
      compared++;
      if (marker && want !== 'bad marker') withMarker++;
    }
  }
  assert.ok(compared > 4000, `${compared} pages compared`);
  assert.ok(withMarker > 1000, `${withMarker} pages after a marker`);
});

t('paging through a whole listing with next markers gives the oracle order', async ({ cat }) => {
  const r = rng(5);
  await fill(cat, r, 200);
  const all = allImages(cat);
  for (const qs of ['limit=7', 'sort=name:asc&limit=5', 'sort=name:desc,size:asc&limit=9', 'sort_key=status&sort_dir=asc&limit=4', 'sort=size:asc,created_at:asc,id:asc&limit=11']) {
    for (const ctx of [ctxOf('p1', false), ctxOf(null, false), ctxOf('p2', true)]) {
      const query = parseListQuery(new URLSearchParams(qs));
      const want = (oraclePage(cat, all, ctx, { ...query, limit: 1000 }) as string[]).filter((x) => x !== '+more');
      const got: string[] = [];
      let marker: string | null = null;
      for (let pages = 0; pages < 200; pages++) {
        const page = (await indexedPage(cat, ctx, { ...query, marker })) as string[];
        const more = page.at(-1) === '+more';
        got.push(...page.filter((x) => x !== '+more'));
        if (!more) break;
        marker = got.at(-1)!;
      }
      assert.equal(got, want, `${qs} as ${ctx.projectId}`);
    }
  }
});

t('a page at 20k images reads a bounded number of records, whatever the catalog size', async ({ cat }) => {
  const r = rng(7);
  const N = 20_000;
  for (let at = 0; at < N; at += 2000) {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => {
      const img = randomImage(r, at + i);
      // a cloud: few public images, most private to many projects
      img.owner = `project-${r.int(200)}`;
      img.visibility = r.next() < 0.05 ? 'public' : 'private';
      img.os_hidden = false;
      img.name = `image-${r.int(N)}`;
      img.created_at = new Date(Date.UTC(2026, 0, 1) + (at + i) * 1000).toISOString();
      img.tags = r.next() < 0.01 ? ['golden'] : [];
      return cat.insert(img);
    }));
  }
  const firstPublic = (await cat.list({ ...request(cat, ctxOf('project-1', false), parseListQuery(new URLSearchParams('visibility=public&limit=25'))), marker: null })).images[10];
  const cases: Array<[string, RequestContext, ImageRecord | null]> = [
    ['limit=25', ctxOf('project-1', false), null],
    ['limit=25', ctxOf('admin', true), null],
    ['visibility=public&limit=25', ctxOf('project-1', false), null],
    ['visibility=public&limit=25', ctxOf('project-1', false), firstPublic],
    ['owner=project-1&limit=25', ctxOf('project-1', false), null],
    ['sort=name:asc&limit=25', ctxOf('project-1', false), null],
    ['sort=name:asc&limit=25', ctxOf('admin', true), null],
    ['tag=golden&limit=25', ctxOf('project-1', false), null],
    ['name=image-42&limit=25', ctxOf('project-1', false), null],
    ['sort_key=size&sort_dir=asc&limit=25', ctxOf('admin', true), null],
  ];
  for (const [qs, ctx, marker] of cases) {
    const query = parseListQuery(new URLSearchParams(qs));
    cat.stats.records = 0;
    cat.stats.keys = 0;
    const page = await cat.list({ ...request(cat, ctx, query), marker });
    // default and name listings of a project: its own and the public streams merged; at most ~1/5 of a
    // project's images are listable by another, so a few pages' worth; filters with a small index: that index
    assert.ok(cat.stats.records <= 600, `${qs}: ${cat.stats.records} records read for ${page.images.length} images`);
    assert.ok(cat.stats.keys <= 1200, `${qs}: ${cat.stats.keys} index entries read`);
    if (!qs.startsWith('name=') && !qs.startsWith('tag=')) assert.is(page.images.length, 25, qs);
  }
});

t('indexes follow inserts, updates and removes (equal to a rebuild), in the same transactions', async ({ cat }) => {
  const r = rng(3);
  await fill(cat, r, 150);
  const ids = allImages(cat).map((i) => i.id);
  for (let i = 0; i < 400; i++) {
    const id = r.pick(ids);
    if (r.next() < 0.1) {
      await cat.remove(id, '2026-12-01T00:00:00Z').catch(() => {});
      continue;
    }
    await cat.update(id, (img) => {
      const o = randomImage(r, 0);
      img.name = o.name;
      img.owner = o.owner;
      img.visibility = o.visibility;
      img.status = o.status;
      img.tags = o.tags;
      img.size = o.size;
      img.os_hidden = o.os_hidden;
      img.updated_at = o.updated_at;
      if (r.next() < 0.2) img.properties.os_glance_import_task = 't';
      else delete img.properties.os_glance_import_task;
      return img;
    }).catch(() => {});
    // a refused change writes nothing, index entries included
    await cat.update(id, (img) => {
      img.name = 'never';
      throw new Error('refused');
    }).catch(() => {});
  }
  assert.equal(indexDrift(cat), []);
  const inFlight = allImages(cat).filter((i) => ['saving', 'importing', 'uploading'].includes(i.status) || typeof i.properties.os_glance_import_task === 'string');
  assert.equal(cat.inFlight().map((i) => i.id).sort(), inFlight.map((i) => i.id).sort());
  for (const p of PROJECTS) assert.equal([...cat.ownedBy(p)].map((i) => i.id).sort(), allImages(cat).filter((i) => i.owner === p).map((i) => i.id).sort());
});

t('a catalog written before the indexes gets them at open, and keeps its images', async (ctx) => {
  await ctx.cat.close();
  rmSync(ctx.dir, { recursive: true, force: true });
  // the layout of imaged before the indexes: images and members only
  const r = rng(9);
  const old = open({ path: path.join(ctx.dir, 'catalog'), compression: false });
  const images = old.openDB<ImageRecord, string>({ name: 'images' });
  const imgs = Array.from({ length: 120 }, (_, i) => randomImage(r, i));
  await images.transaction(() => {
    for (const img of imgs) images.put(img.id, img);
  });
  await old.close();
  ctx.cat = new LmdbCatalog(ctx.dir);
  assert.equal(indexDrift(ctx.cat), []);
  const query = parseListQuery(new URLSearchParams('visibility=all&limit=1000'));
  const admin = ctxOf('p1', true);
  const page = await indexedPage(ctx.cat, admin, query);
  assert.equal(page, oraclePage(ctx.cat, imgs, admin, query));
  assert.ok(page.length > 80, `${page.length} images listed`);
  // a second open finds the schema current and leaves the indexes alone
  await ctx.cat.close();
  ctx.cat = new LmdbCatalog(ctx.dir);
  assert.equal(indexDrift(ctx.cat), []);
});

t.run();
