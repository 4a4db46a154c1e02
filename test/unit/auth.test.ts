import * as assert from 'uvu/assert';
import { suite } from '../helpers/suite.js';
import { noauthContext, type NoauthSettings, type RequestContext } from '../../src/auth/context.js';
import { canSee, inListing, isOwner } from '../../src/auth/visibility.js';
import type { ImageRecord, Visibility } from '../../src/images/record.js';

// The noauth identity and Glance's default visibility rules, case by case (the API tests go through them too).

const t = suite('auth: noauth context and visibility policy');

const settings = (o: Partial<NoauthSettings> = {}): NoauthSettings => ({ project: 'p-node', user: 'u-node', roles: ['member', 'reader'], trustHeaders: false, ...o });
const headers = (h: Record<string, string>) => (name: string) => h[name];

t('without trusted headers: the configured identity, whatever the request says', () => {
  const forged = headers({ 'x-project-id': 'evil', 'x-tenant-id': 'evil', 'x-user-id': 'mallory', 'x-roles': 'admin' });
  assert.equal(noauthContext(settings(), forged, 'req-1'), { projectId: 'p-node', userId: 'u-node', roles: ['member', 'reader'], isAdmin: false, requestId: 'req-1' });
  assert.is(noauthContext(settings({ roles: ['admin'] }), forged, 'r').isAdmin, true);
  // empty project/user settings mean none
  const none = noauthContext(settings({ project: '', user: '' }), headers({}), 'r');
  assert.is(none.projectId, null);
  assert.is(none.userId, null);
});

t('with trusted headers: X-Project-Id (else X-Tenant-Id), X-User-Id, X-Roles (trimmed, lower-cased); absent project/user keep the settings, absent X-Roles means no roles', () => {
  const s = settings({ trustHeaders: true });
  const c = noauthContext(s, headers({ 'x-project-id': 'p1', 'x-tenant-id': 't1', 'x-user-id': 'u1', 'x-roles': ' Admin , member,,' }), 'r');
  assert.equal(c, { projectId: 'p1', userId: 'u1', roles: ['admin', 'member'], isAdmin: true, requestId: 'r' });
  assert.is(noauthContext(s, headers({ 'x-tenant-id': 't1' }), 'r').projectId, 't1');
  const bare = noauthContext(s, headers({}), 'r');
  assert.equal([bare.projectId, bare.userId, bare.roles, bare.isAdmin], ['p-node', 'u-node', [], false]);
  assert.equal(noauthContext(s, headers({ 'x-roles': '' }), 'r').roles, []);
  assert.is(noauthContext(s, headers({ 'x-roles': 'administrator' }), 'r').isAdmin, false);
});

const ctx = (projectId: string | null, isAdmin = false): RequestContext => ({ projectId, userId: null, roles: isAdmin ? ['admin'] : ['member'], isAdmin, requestId: 'r' });
const img = (owner: string | null, visibility: Visibility) => ({ owner, visibility }) as ImageRecord;
const VIS: Visibility[] = ['public', 'community', 'shared', 'private'];
const noMember = () => null;

t('isOwner needs both sides set and equal', () => {
  assert.ok(isOwner(ctx('p1'), img('p1', 'private')));
  assert.not.ok(isOwner(ctx('p1'), img('p2', 'private')));
  assert.not.ok(isOwner(ctx(null), img(null, 'private')));
  assert.not.ok(isOwner(ctx('p1'), img(null, 'private')));
  assert.not.ok(isOwner(ctx(null), img('p1', 'private')));
});

t('canSee: admin all; public and community anyone; ownerless anyone; else the owner only', () => {
  for (const v of VIS) {
    assert.ok(canSee(ctx('x', true), img('p2', v), noMember), `admin ${v}`);
    assert.ok(canSee(ctx('p1'), img('p1', v), noMember), `owner ${v}`);
    assert.ok(canSee(ctx('p1'), img(null, v), noMember), `ownerless ${v}`);
    assert.is(canSee(ctx('p1'), img('p2', v), noMember), v === 'public' || v === 'community', `other ${v}`);
    assert.is(canSee(ctx(null), img('p2', v), noMember), v === 'public' || v === 'community', `project-less ${v}`);
    // a member of a shared image sees it whatever its status; membership of other visibilities counts for nothing
    assert.is(canSee(ctx('p1'), img('p2', v), () => 'pending'), v !== 'private', `member ${v}`);
  }
});

t('inListing as Glance image_get_all: the starting set, then the visibility filter', () => {
  const user = ctx('p1');
  const admin = ctx('p1', true);
  const expect = (c: RequestContext, owner: string | null, v: Visibility, filter: string | null, want: boolean) =>
    assert.is(inListing(c, img(owner, v), { visibility: filter, memberStatus: 'accepted' }, noMember), want, `${c.isAdmin ? 'admin' : c.projectId ?? 'none'} ${owner} ${v} ?visibility=${filter}`);
  // no filter: own + public; community only when own (admins too); admins see others' shared and private
  expect(user, 'p1', 'private', null, true);
  expect(user, 'p1', 'shared', null, true);
  expect(user, 'p1', 'community', null, true);
  expect(user, 'p2', 'public', null, true);
  expect(user, 'p2', 'community', null, false);
  expect(user, 'p2', 'shared', null, false);
  expect(user, 'p2', 'private', null, false);
  expect(admin, 'p2', 'private', null, true);
  expect(admin, 'p2', 'shared', null, true);
  expect(admin, 'p2', 'community', null, false);
  expect(admin, 'p1', 'community', null, true);
  expect(ctx(null, true), null, 'community', null, false);
  // visibility=all: everything the caller may list
  expect(user, 'p2', 'community', 'all', true);
  expect(user, 'p2', 'private', 'all', false);
  expect(admin, 'p2', 'private', 'all', true);
  // a visibility: only that one, out of what the caller may list
  expect(user, 'p1', 'shared', 'shared', true);
  expect(user, 'p1', 'private', 'shared', false);
  expect(user, 'p2', 'shared', 'shared', false);
  expect(user, 'p2', 'community', 'community', true);
  expect(user, 'p2', 'public', 'private', false);
  expect(admin, 'p2', 'private', 'private', true);
  expect(admin, 'p2', 'community', 'community', true);
  // ownerless images: listed for project-less callers only
  expect(ctx(null), null, 'private', null, true);
  expect(user, null, 'private', null, false);
  expect(user, null, 'public', null, true);
});

t.run();
