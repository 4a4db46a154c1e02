import { suite } from '../helpers/suite.js';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LmdbCatalog as Catalog } from '../../src/catalog/lmdb/catalog.js';
import type { ImageRecord } from '../../src/images/record.js';
import type { MemberRecord, MemberStatus } from '../../src/images/member.js';

// The catalog's two member indexes on a real LMDB: range reads, one transaction per change, refusals write nothing.

const t = suite<{ dir: string; cat: Catalog }>('catalog: image members');
t.before.each((ctx) => {
  ctx.dir = mkdtempSync(path.join(os.tmpdir(), 'imaged-members-'));
  ctx.cat = new Catalog(ctx.dir);
});
t.after.each(async (ctx) => {
  await ctx.cat.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

// Ids that sort next to each other, so a range read that runs past its prefix would show it.
const IMG1 = '11111111-1111-4111-8111-111111111111';
const IMG2 = '11111111-1111-4111-8111-111111111112';

function image(id: string): ImageRecord {
  return {
    id, name: null, status: 'queued', visibility: 'shared', protected: false, os_hidden: false, owner: 'pA', checksum: null,
    os_hash_algo: null, os_hash_value: null, xxh3: null, size: null, virtual_size: null, min_ram: 0, min_disk: 0,
    disk_format: null, container_format: null, created_at: '', updated_at: '', tags: [], properties: {}, locations: [],
  };
}
const member = (image_id: string, member_id: string, status: MemberStatus = 'pending'): MemberRecord =>
  ({ image_id, member_id, status, created_at: '2026-12-02T00:00:00.000Z', updated_at: '2026-12-02T00:00:00.000Z' });
const ok = () => {};

t('range reads stop at their prefix: members of one image, images of one member by status', async ({ cat }) => {
  await cat.insert(image(IMG1));
  await cat.insert(image(IMG2));
  for (const m of ['p', 'p2', 'pB', 'q']) await cat.addMember(member(IMG1, m), ok);
  await cat.addMember(member(IMG2, 'p'), ok);
  await cat.addMember(member(IMG2, 'p2', 'accepted'), ok);
  assert.equal(cat.membersOf(IMG1).map((m) => m.member_id), ['p', 'p2', 'pB', 'q']);
  assert.equal(cat.membersOf(IMG2).map((m) => m.member_id), ['p', 'p2']);
  assert.equal([...cat.sharedWith('p', null).keys()], [IMG1, IMG2]);
  assert.equal([...cat.sharedWith('p2', null)], [[IMG2, 'accepted'], [IMG1, 'pending']]);
  assert.equal([...cat.sharedWith('p2', 'pending').keys()], [IMG1]);
  assert.equal([...cat.sharedWith('p2', 'rejected').keys()], []);
  assert.equal([...cat.sharedWith('nobody', null).keys()], []);
  assert.equal(cat.member(IMG1, 'pB')?.status, 'pending');
});

t('a status change moves the member-images key in the same transaction', async ({ cat }) => {
  await cat.insert(image(IMG1));
  await cat.addMember(member(IMG1, 'pB'), ok);
  const m = await cat.updateMember(IMG1, 'pB', (cur) => ({ ...cur, status: 'rejected' }));
  assert.is(m.status, 'rejected');
  assert.equal([...cat.sharedWith('pB', 'pending').keys()], []);
  assert.equal([...cat.sharedWith('pB', 'rejected').keys()], [IMG1]);
  assert.is(cat.member(IMG1, 'pB')?.status, 'rejected');
});

t('a refused change writes nothing; adding to a missing image fails', async ({ cat }) => {
  await cat.insert(image(IMG1));
  await cat.addMember(member(IMG1, 'pB'), ok);
  let seen: [number, MemberRecord | undefined] | null = null;
  const refused = await cat
    .addMember(member(IMG1, 'pB', 'accepted'), (_img, count, existing) => {
      seen = [count, existing];
      throw new Error('duplicate');
    })
    .catch((e) => e);
  assert.is(refused.message, 'duplicate');
  assert.equal(seen, [1, member(IMG1, 'pB')]);
  assert.is(cat.member(IMG1, 'pB')?.status, 'pending');
  assert.equal([...cat.sharedWith('pB', 'accepted').keys()], []);
  const gone = await cat.updateMember(IMG1, 'pB', () => {
    throw new Error('no');
  }).catch((e) => e);
  assert.is(gone.message, 'no');
  assert.equal([...cat.sharedWith('pB', null)], [[IMG1, 'pending']]);
  const missing = await cat.addMember(member(IMG2, 'pB'), ok).catch((e) => e);
  assert.is(missing.constructor.name, 'CatalogNotFound');
  assert.equal(cat.membersOf(IMG2), []);
  assert.is(await cat.removeMember(IMG1, 'nobody'), false);
});

t('removing the image removes its members from both databases; others stay; state survives a reopen', async (ctx) => {
  await ctx.cat.insert(image(IMG1));
  await ctx.cat.insert(image(IMG2));
  await ctx.cat.addMember(member(IMG1, 'pB'), ok);
  await ctx.cat.addMember(member(IMG1, 'pC', 'accepted'), ok);
  await ctx.cat.addMember(member(IMG2, 'pB', 'accepted'), ok);
  await ctx.cat.remove(IMG1, '2026-12-02T00:00:00.000Z');
  await ctx.cat.close();
  ctx.cat = new Catalog(ctx.dir);
  assert.equal(ctx.cat.membersOf(IMG1), []);
  assert.equal([...ctx.cat.sharedWith('pB', null)], [[IMG2, 'accepted']]);
  assert.equal([...ctx.cat.sharedWith('pC', null)], []);
  assert.is(await ctx.cat.insert(image(IMG1)), false); // tombstoned with it
});

t.run();
