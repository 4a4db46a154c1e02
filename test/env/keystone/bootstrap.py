"""Fills a fresh test Keystone (after keystone-manage bootstrap) with what imaged's tests use.

Run by test/env/keystone.sh on Debian's /usr/bin/python3 (standard library only). Idempotent: existing
entities are found by name and reused. Prints KEY=value lines (ids) for DIR/env.

  bootstrap.py V3_URL ADMIN_PASSWORD SERVICE_PASSWORD DEMO_PASSWORD IMAGE_URL REGION
"""
import json
import sys
import urllib.error
import urllib.request

V3, ADMIN_PW, SERVICE_PW, DEMO_PW, IMAGE_URL, REGION = sys.argv[1:7]
DOMAIN = 'default'


def call(method, path, body=None, token=None, expect=(200, 201, 204)):
    req = urllib.request.Request(V3 + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header('Content-Type', 'application/json')
    req.add_header('Accept', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
            return r.status, r.headers, json.loads(data) if data else None
    except urllib.error.HTTPError as e:
        if e.code in expect:
            return e.code, e.headers, None
        raise SystemExit(f'{method} {path}: HTTP {e.code} {e.read()[:500]!r}')


_, h, _ = call('POST', '/auth/tokens', {'auth': {
    'identity': {'methods': ['password'], 'password': {'user': {'name': 'admin', 'domain': {'id': DOMAIN}, 'password': ADMIN_PW}}},
    'scope': {'project': {'name': 'admin', 'domain': {'id': DOMAIN}}}}})
TOKEN = h['X-Subject-Token']


def find_or_create(kind, name, body, query=''):
    _, _, found = call('GET', f'/{kind}?name={name}{query}', token=TOKEN)
    if found[kind]:
        return found[kind][0]['id']
    singular = kind[:-1]
    _, _, made = call('POST', f'/{kind}', {singular: {'name': name, **body}}, token=TOKEN)
    return made[singular]['id']


def role(name):
    return find_or_create('roles', name, {})


def project(name):
    return find_or_create('projects', name, {'domain_id': DOMAIN, 'description': f'imaged test project {name}'})


def user(name, password, enabled=True):
    uid = find_or_create('users', name, {'domain_id': DOMAIN, 'password': password, 'enabled': enabled})
    call('PATCH', f'/users/{uid}', {'user': {'enabled': enabled}}, token=TOKEN)
    return uid


def grant(project_id, user_id, role_id):
    call('PUT', f'/projects/{project_id}/users/{user_id}/roles/{role_id}', token=TOKEN)


out = {}
roles = {n: role(n) for n in ('admin', 'member', 'reader', 'service')}
out['KEYSTONE_ADMIN_PROJECT_ID'] = find_or_create('projects', 'admin', {'domain_id': DOMAIN})
admin_id = find_or_create('users', 'admin', {})
out['KEYSTONE_ADMIN_USER_ID'] = admin_id
# domain- and system-scoped tokens for the admin (bootstrap already gives the system role)
call('PUT', f'/domains/{DOMAIN}/users/{admin_id}/roles/{roles["admin"]}', token=TOKEN)
call('PUT', f'/system/users/{admin_id}/roles/{roles["admin"]}', token=TOKEN)

service = project('service')
out['KEYSTONE_SERVICE_PROJECT_ID'] = service
imaged = user('imaged', SERVICE_PW)
out['KEYSTONE_SERVICE_USER_ID'] = imaged
grant(service, imaged, roles['admin'])
grant(service, imaged, roles['service'])
# unified limits ([oslo_limit] system_scope = all): reading every project's limits takes a system role
call('PUT', f'/system/users/{imaged}/roles/{roles["reader"]}', token=TOKEN)

for p in ('alpha', 'beta', 'gamma'):
    pid = project(p)
    out[f'KEYSTONE_PROJECT_{p.upper()}'] = pid
    for r in ('member', 'reader'):
        uid = user(f'{p}-{r}', DEMO_PW)
        out[f'KEYSTONE_USER_{p.upper()}_{r.upper()}'] = uid
        grant(pid, uid, roles[r])
# a user in alpha's domain without any role (only an unscoped token), and a disabled member of alpha
out['KEYSTONE_USER_NOROLE'] = user('alpha-norole', DEMO_PW)
disabled = user('alpha-disabled', DEMO_PW, enabled=True)
grant(out['KEYSTONE_PROJECT_ALPHA'], disabled, roles['member'])
user('alpha-disabled', DEMO_PW, enabled=False)
out['KEYSTONE_USER_DISABLED'] = disabled

# the image service, served by the keystone-backed test imaged
_, _, svcs = call('GET', '/services?type=image', token=TOKEN)
if svcs['services']:
    image_service = svcs['services'][0]['id']
else:
    _, _, made = call('POST', '/services', {'service': {'type': 'image', 'name': 'glance', 'description': 'imaged under test'}}, token=TOKEN)
    image_service = made['service']['id']
_, _, eps = call('GET', f'/endpoints?service_id={image_service}', token=TOKEN)
have = {e['interface']: e for e in eps['endpoints']}
for iface in ('public', 'internal', 'admin'):
    if iface in have:
        call('PATCH', f'/endpoints/{have[iface]["id"]}', {'endpoint': {'url': IMAGE_URL, 'region_id': REGION}}, token=TOKEN)
    else:
        call('POST', '/endpoints', {'endpoint': {'service_id': image_service, 'interface': iface, 'url': IMAGE_URL, 'region_id': REGION}}, token=TOKEN)

for k, v in out.items():
    print(f'{k}={v}')
