import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders } from '../helpers/http.js';

// OSSN-0075: Glance keeps deleted rows, so a deleted image's id can never name a new image.
const t = suite<{ d: TestDaemon }>('deleted image ids are not reusable');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon();
});
t.after(async (ctx) => {
  await ctx.d.stop();
});

const create = (d: TestDaemon, body: object, h: Record<string, string> = as('p1')) =>
  request(`${d.url}/v2/images`, { method: 'POST', headers: jsonHeaders({ ...h, Accept: 'application/json' }), body: JSON.stringify(body) });
const del = (d: TestDaemon, id: string, h: Record<string, string> = as('p1')) => request(`${d.url}/v2/images/${id}`, { method: 'DELETE', headers: h });

t('delete then create with the same id → 409 with Glance\'s message; still 404 and unlisted', async ({ d }) => {
  const id = '0c0ffee0-0000-4000-8000-000000000075';
  assert.is((await create(d, { id, name: 'first' })).status, 201);
  assert.is((await del(d, id)).status, 204);
  for (const h of [as('p1'), as('p2'), ADMIN]) {
    const r = await create(d, { id, name: 'impostor', visibility: 'community' }, h);
    assert.is(r.status, 409);
    assert.equal(r.json, { code: 409, title: 'Conflict', message: `Image ID ${id} already exists!` });
  }
  assert.is((await request(`${d.url}/v2/images/${id}`, { headers: ADMIN })).status, 404);
  const listed = await request(`${d.url}/v2/images?visibility=all&limit=1000`, { headers: ADMIN });
  assert.not.ok(listed.json.images.some((i: any) => i.id === id));
  assert.is((await del(d, id)).status, 404);
  // a fresh id still works, and a live duplicate is the same conflict
  const other = await createImage(d.url, { name: 'fresh' }, as('p1'));
  assert.is((await create(d, { id: other.id })).status, 409);
});

t('the tombstone survives a restart', async () => {
  const d = await startTestDaemon();
  const id = '0c0ffee0-0000-4000-8000-000000000076';
  assert.is((await create(d, { id })).status, 201);
  assert.is((await del(d, id)).status, 204);
  await d.stop(false);
  const again = await startTestDaemon({ dir: d.dir });
  try {
    assert.is((await create(again, { id })).status, 409);
    assert.is((await request(`${again.url}/v2/images/${id}`, { headers: ADMIN })).status, 404);
  } finally {
    await again.stop();
  }
});

t.run();
