import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, upload } from '../helpers/http.js';

const t = suite<{ d: TestDaemon; ids: string[] }>('image list: filters, sorting, paging, visibility');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon();
  ctx.ids = [];
  for (let i = 0; i < 7; i++) {
    const img = await createImage(ctx.d.url, { name: `img-${i}`, disk_format: i % 2 ? 'qcow2' : 'raw', tags: i < 3 ? ['low'] : [] }, as('p1'));
    ctx.ids.push(img.id);
    await new Promise((r) => setTimeout(r, 5));
  }
  await upload(ctx.d.url, ctx.ids[0], Buffer.alloc(1000, 1), as('p1'));
  await upload(ctx.d.url, ctx.ids[1], Buffer.alloc(5000, 1), as('p1'));
  await createImage(ctx.d.url, { name: 'other-private', visibility: 'private' }, as('p2'));
  await createImage(ctx.d.url, { name: 'other-community', visibility: 'community' }, as('p2'));
  await createImage(ctx.d.url, { name: 'hidden', os_hidden: true }, as('p1'));
  await createImage(ctx.d.url, { name: 'pub', visibility: 'public' }, ADMIN);
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const names = (r: any) => r.json.images.map((i: any) => i.name);
const list = (d: TestDaemon, q: string, h: Record<string, string> = as('p1')) => request(`${d.url}/v2/images${q}`, { headers: h });

t('default listing: own + public; not others private, community or hidden', async ({ d }) => {
  const r = await list(d, '?limit=100');
  assert.is(r.status, 200);
  const n = names(r);
  assert.ok(n.includes('img-0') && n.includes('pub'));
  assert.not.ok(n.includes('other-private'));
  assert.not.ok(n.includes('other-community'));
  assert.not.ok(n.includes('hidden'));
  assert.is(r.json.schema, '/v2/schemas/images');
  assert.is(r.json.first, '/v2/images');
  // but community images can be shown and listed with the filter
  const comm = await list(d, '?visibility=community');
  assert.equal(names(comm), ['other-community']);
  const hidden = await list(d, '?os_hidden=true');
  assert.equal(names(hidden), ['hidden']);
  // admin sees everything not hidden
  const all = await list(d, '?limit=100', ADMIN);
  assert.ok(names(all).includes('other-private'));
});

// Glance's image_get_all (glance/db/sqlalchemy/api.py, _select_images_query and the visibility block after it).
t('visibility=all: a non-admin also gets other projects\' community images, with other filters too', async ({ d }) => {
  const all = names(await list(d, '?visibility=all&limit=100'));
  assert.ok(all.includes('other-community') && all.includes('img-0') && all.includes('pub'));
  assert.not.ok(all.includes('other-private'));
  assert.equal(names(await list(d, '?visibility=all&name=other-community')), ['other-community']);
  assert.equal(names(await list(d, '?visibility=all&owner=p2')), ['other-community']);
});

t('non-admin with each visibility: public, community, shared and private are filters on what it may list', async ({ d }) => {
  assert.equal(names(await list(d, '?visibility=public')), ['pub']);
  assert.equal(names(await list(d, '?visibility=community')), ['other-community']);
  // the owner's own shared images (Glance's default visibility); p2 owns none, and has no memberships yet
  const shared = names(await list(d, '?visibility=shared&limit=100&sort=name:asc'));
  assert.equal(shared, ['img-0', 'img-1', 'img-2', 'img-3', 'img-4', 'img-5', 'img-6']);
  assert.equal(names(await list(d, '?visibility=shared&limit=100', as('p2'))), []);
  assert.equal(names(await list(d, '?visibility=private')), []);
  assert.equal(names(await list(d, '?visibility=private', as('p2'))), ['other-private']);
  // the owner's own community images are in its default listing
  assert.ok(names(await list(d, '?limit=100', as('p2'))).includes('other-community'));
});

t('admin without a visibility filter: no community images of other projects', async ({ d }) => {
  for (const q of ['?limit=100', '?owner=p2', '?member_status=all&limit=100', '?name=other-community']) {
    const n = names(await list(d, q, ADMIN));
    assert.not.ok(n.includes('other-community'), q);
  }
  assert.equal(names(await list(d, '?owner=p2', ADMIN)), ['other-private']);
  // with a visibility, admins get every image of it, whoever owns it
  assert.ok(names(await list(d, '?visibility=all&limit=100', ADMIN)).includes('other-community'));
  assert.equal(names(await list(d, '?visibility=community', ADMIN)), ['other-community']);
  assert.equal(names(await list(d, '?visibility=private', ADMIN)), ['other-private']);
  assert.equal(names(await list(d, '?visibility=shared&owner=p1&limit=100', ADMIN)).length, 7);
});

t('filters: name, status, tag, disk_format, size range, in: lists, time comparisons', async ({ d }) => {
  assert.equal(names(await list(d, '?name=img-3')), ['img-3']);
  assert.equal(names(await list(d, '?status=active&sort=name:asc')), ['img-0', 'img-1']);
  assert.equal(names(await list(d, '?tag=low&sort=name:asc')), ['img-0', 'img-1', 'img-2']);
  assert.equal(names(await list(d, '?disk_format=qcow2&sort=name:asc')), ['img-1', 'img-3', 'img-5']);
  assert.equal(names(await list(d, '?size_min=2000')), ['img-1']);
  assert.equal(names(await list(d, '?size_max=2000')), ['img-0']);
  assert.equal(names(await list(d, '?name=in:img-4,img-6&sort=name:asc')), ['img-4', 'img-6']);
  const future = await list(d, '?created_at=gt:2999-01-01T00:00:00Z');
  assert.equal(names(future), []);
  const past = await list(d, '?updated_at=gte:2000-01-01T00:00:00Z&limit=100');
  assert.ok(names(past).length >= 8);
  // Glance filters by an unknown status (no match) but refuses sort keys outside its eight
  assert.equal(names(await list(d, '?status=bogus')), []);
  for (const q of ['?sort_key=visibility', '?sort=owner:asc', '?sort_key=min_disk']) {
    const r = await list(d, q);
    assert.is(r.status, 400, `${q} → ${r.status}`);
    assert.match(r.body.toString(), /Invalid sort key/);
  }
  for (const q of ['?created_at=gt:yesterday', '?size_min=abc', '?sort_key=nosuch', '?sort_dir=sideways', '?limit=-1', '?visibility=everyone', '?marker=00000000-0000-0000-0000-000000000000']) {
    const r = await list(d, q);
    assert.is(r.status, 400, `${q} → ${r.status}`);
  }
});

t('sorting and paging with marker and next link', async ({ d }) => {
  const asc = names(await list(d, '?sort_key=name&sort_dir=asc&name=in:img-0,img-1,img-2,img-3'));
  assert.equal(asc, ['img-0', 'img-1', 'img-2', 'img-3']);
  const desc = names(await list(d, '?sort=name:desc&name=in:img-0,img-1,img-2'));
  assert.equal(desc, ['img-2', 'img-1', 'img-0']);
  // default sort is created_at desc
  const def = names(await list(d, '?tag=low'));
  assert.equal(def, ['img-2', 'img-1', 'img-0']);
  const seen: string[] = [];
  let url = '/v2/images?limit=2&sort=name:asc&name=in:img-0,img-1,img-2,img-3,img-4';
  for (let i = 0; i < 10 && url; i++) {
    const r = await request(`${d.url}${url}`, { headers: as('p1') });
    seen.push(...names(r));
    url = r.json.next;
  }
  assert.equal(seen, ['img-0', 'img-1', 'img-2', 'img-3', 'img-4']);
  const big = await list(d, '?limit=5000');
  assert.is(big.status, 200);
});

t('visibility on show and modify: other project gets 404 for private, 403 for modifying public', async ({ d }) => {
  const priv = await createImage(d.url, { name: 'p2-secret', visibility: 'private' }, as('p2'));
  assert.is((await request(`${d.url}/v2/images/${priv.id}`, { headers: as('p1') })).status, 404);
  assert.is((await request(`${d.url}/v2/images/${priv.id}`, { headers: as('p2') })).status, 200);
  assert.is((await request(`${d.url}/v2/images/${priv.id}`, { method: 'DELETE', headers: as('p1') })).status, 404);
  const pub = (await list(d, '?name=pub')).json.images[0];
  const r = await request(`${d.url}/v2/images/${pub.id}`, { method: 'DELETE', headers: as('p1') });
  assert.is(r.status, 403);
});

t.run();
