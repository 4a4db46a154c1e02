import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { startTestDaemon, ADMIN, as, type TestDaemon } from '../helpers/daemon.js';
import { request, createImage, jsonHeaders, PATCH_TYPE } from '../helpers/http.js';
import { GLANCE_TRANSCRIPT, IMAGED_DIFFERENCES, expectedImagedTranscript, memberScenario } from './members-scenario.js';

const A = as('pA');
const B = as('pB');
const members = (d: TestDaemon, id: string, member = '') => `${d.url}/v2/images/${id}/members${member ? `/${member}` : ''}`;
const addMember = (d: TestDaemon, id: string, member: unknown, h: Record<string, string> = A) =>
  request(members(d, id), { method: 'POST', headers: jsonHeaders(h), body: JSON.stringify({ member }) });
const setStatus = (d: TestDaemon, id: string, member: string, status: string, h: Record<string, string> = as(member)) =>
  request(members(d, id, member), { method: 'PUT', headers: jsonHeaders(h), body: JSON.stringify({ status }) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t = suite<{ d: TestDaemon }>('image members (sharing)');
t.before(async (ctx) => {
  ctx.d = await startTestDaemon();
});
t.after(async (ctx) => ctx.d?.stop());

t('the whole scenario answers as glance-api 25 does (its transcript, recorded from the real server)', async ({ d }) => {
  const got = await memberScenario(d.url);
  const want = expectedImagedTranscript();
  // Line by line, so a difference names its request.
  for (let i = 0; i < Math.max(got.length, want.length); i++) assert.is(got[i], want[i], `step ${i + 1}`);
  // Every kept difference is still needed (the request is in the transcript).
  for (const req of Object.keys(IMAGED_DIFFERENCES)) assert.ok(GLANCE_TRANSCRIPT.some((l) => l.startsWith(`${req} -> `)), req);
});

t('image_member_quota: the count is checked before duplicates (413, as Glance); -1 is unlimited; 0 allows none', async () => {
  const q2 = await startTestDaemon({ tweak: (c) => { c.imageMemberQuota = 2; } });
  try {
    const img = await createImage(q2.url, { visibility: 'shared' }, A);
    assert.is((await addMember(q2, img.id, 'm1')).status, 200);
    assert.is((await addMember(q2, img.id, 'm2')).status, 200);
    for (const m of ['m3', 'm2']) {
      const r = await addMember(q2, img.id, m, m === 'm2' ? A : ADMIN);
      assert.is(r.status, 413);
      assert.ok(r.body.toString().includes(
        `Image member limit exceeded for image ${img.id}: The limit has been exceeded on the number of allowed image members for this image. Attempted: 3, Maximum: 2:`,
      ));
    }
    assert.is((await request(members(q2, img.id, 'm2'), { method: 'DELETE', headers: A })).status, 204);
    assert.is((await addMember(q2, img.id, 'm3')).status, 200);
  } finally {
    await q2.stop();
  }
  const q0 = await startTestDaemon({ tweak: (c) => { c.imageMemberQuota = 0; } });
  try {
    const img = await createImage(q0.url, { visibility: 'shared' }, A);
    const r = await addMember(q0, img.id, 'm1');
    assert.is(r.status, 413);
    assert.ok(r.body.toString().includes('Attempted: 1, Maximum: 0'));
  } finally {
    await q0.stop();
  }
  const unlimited = await startTestDaemon({ tweak: (c) => { c.imageMemberQuota = -1; } });
  try {
    const img = await createImage(unlimited.url, { visibility: 'shared' }, A);
    for (let i = 0; i < 129; i++) assert.is((await addMember(unlimited, img.id, `m${i}`)).status, 200); // past the default 128
    const r = await request(members(unlimited, img.id), { headers: A });
    assert.is(r.json.members.length, 129);
  } finally {
    await unlimited.stop();
  }
});

t('updated_at moves when the status changes, not when the same status is set again (as Glance)', async ({ d }) => {
  const img = await createImage(d.url, { visibility: 'shared' }, A);
  const added = (await addMember(d, img.id, 'pB')).json;
  assert.is(added.created_at, added.updated_at);
  await sleep(1100); // the API shows seconds
  const same = await setStatus(d, img.id, 'pB', 'pending');
  assert.is(same.status, 200);
  assert.is(same.json.updated_at, added.updated_at);
  const changed = await setStatus(d, img.id, 'pB', 'accepted');
  assert.is(changed.json.status, 'accepted');
  assert.is(changed.json.created_at, added.created_at);
  assert.ok(changed.json.updated_at > added.updated_at, `${changed.json.updated_at} > ${added.updated_at}`);
  const listed = (await request(members(d, img.id), { headers: A })).json.members[0];
  assert.equal(listed, changed.json);
});

t('a member is a project id: non-strings and ids longer than Glance\'s column are 400 (Glance stores 123 as "123", true as "1", 500s on lists)', async ({ d }) => {
  const img = await createImage(d.url, { visibility: 'shared' }, A);
  for (const bad of [123, 1.5, true, ['pB'], { id: 'pB' }]) {
    const r = await addMember(d, img.id, bad);
    assert.is(r.status, 400, JSON.stringify(bad));
    assert.ok(r.body.toString().includes('Expected a member in the form'), r.body.toString());
  }
  for (const empty of [0, false, [], {}]) {
    const r = await addMember(d, img.id, empty);
    assert.is(r.status, 400);
    assert.ok(r.body.toString().includes("Member can&#x27;t be empty"), r.body.toString());
  }
  const long = 'p'.repeat(256);
  const r = await addMember(d, img.id, long);
  assert.is(r.status, 400);
  assert.ok(r.body.toString().includes('at most 255 characters'));
  assert.is((await addMember(d, img.id, 'p'.repeat(255))).status, 200);
  // Any other string is an id, reachable by its URL-encoded form.
  const odd = 'proj/with space';
  assert.is((await addMember(d, img.id, odd)).status, 200);
  const shown = await request(members(d, img.id, encodeURIComponent(odd)), { headers: A });
  assert.is(shown.status, 200);
  assert.is(shown.json.member_id, odd);
});

t('memberships survive a restart; deleting the image removes them from both indexes in its transaction', async () => {
  let d = await startTestDaemon();
  const dir = d.dir;
  try {
    const img = await createImage(d.url, { name: 'kept', visibility: 'shared' }, A);
    const other = await createImage(d.url, { name: 'other', visibility: 'shared' }, A);
    await addMember(d, img.id, 'pB');
    await addMember(d, other.id, 'pB');
    await addMember(d, img.id, 'pC');
    await setStatus(d, img.id, 'pB', 'accepted');
    await d.stop(false);
    d = await startTestDaemon({ dir });
    const names = async (q: string) => (await request(`${d.url}/v2/images${q}`, { headers: B })).json.images.map((i: any) => i.name).sort();
    assert.equal(await names(''), ['kept']);
    assert.equal(await names('?member_status=pending'), ['other']);
    const cat = d.daemon.internals.catalog;
    assert.equal([...cat.sharedWith('pB', null).keys()].sort(), [img.id, other.id].sort());
    assert.equal([...cat.sharedWith('pB', 'accepted').keys()], [img.id]);
    assert.equal([...cat.sharedWith('pB', 'pending').keys()], [other.id]);

    assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE', headers: A })).status, 204);
    assert.equal(cat.membersOf(img.id), []);
    assert.equal([...cat.sharedWith('pB', null).keys()], [other.id]);
    assert.equal([...cat.sharedWith('pC', null).keys()], []);
    assert.equal(cat.membersOf(other.id).map((m) => m.member_id), ['pB']);
  } finally {
    await d.stop();
  }
});

t('a member may not change the image: 403 (it sees it), not 404', async ({ d }) => {
  const img = await createImage(d.url, { name: 'shared-with-b', visibility: 'shared' }, A);
  await addMember(d, img.id, 'pB');
  const patch = await request(`${d.url}/v2/images/${img.id}`, {
    method: 'PATCH', headers: { ...B, 'Content-Type': PATCH_TYPE }, body: JSON.stringify([{ op: 'replace', path: '/name', value: 'mine' }]),
  });
  assert.is(patch.status, 403);
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { method: 'DELETE', headers: B })).status, 403);
  assert.is((await request(`${d.url}/v2/images/${img.id}/tags/x`, { method: 'PUT', headers: B })).status, 403);
  assert.is((await request(`${d.url}/v2/images/${img.id}`, { headers: as('pC') })).status, 404);
});

t.run();
