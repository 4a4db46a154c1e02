"""Paste filter for a keystone-less glance-api: every request gets an owner context.

Why: the stock `unauthenticated-context` filter makes an admin context with no
project, so images get `owner: null`, /import fails with 500 (tasks.owner is
NOT NULL) and policy refuses /v2/cache and /v2/info/stores/detail (they want
role admin, is_admin=True is not enough).

How: fill in the headers keystonemiddleware's auth_token would have set, then
let glance's own ContextMiddleware build the context.  Policy, ownership and
visibility then behave as they do behind keystone.

Headers honoured (a client-sent value wins over the paste-ini default):
  X-Project-Id (or legacy X-Tenant-Id)  default project_id (noauth-project)
  X-User-Id                             default user_id    (noauth-user)
  X-Roles  (comma list, lowercased)     default roles      (admin,member,reader)
  X-Openstack-Request-Id                echoed as x-openstack-request-id (req- prefixed)
Any client-sent X-Identity-Status is overwritten with "Confirmed".
Other keystone headers (X-Project-Name, X-User-Name, X-Domain-Id, ...) pass
through to oslo.context untouched.  Loopback test peer only: anyone can claim
any project.
"""
from glance.api.middleware import context as glance_context


class OwnerContextMiddleware(glance_context.ContextMiddleware):
    def __init__(self, app, project_id, user_id, roles):
        super().__init__(app)
        self.project_id = project_id
        self.user_id = user_id
        self.roles = roles

    def process_request(self, req):
        h = req.headers  # webob EnvironHeaders: writes go to req.environ
        if not (h.get('X-Project-Id') or h.get('X-Tenant-Id')):
            h['X-Project-Id'] = self.project_id
        if not h.get('X-User-Id'):
            h['X-User-Id'] = self.user_id
        if not h.get('X-Roles'):
            h['X-Roles'] = self.roles
        h['X-Identity-Status'] = 'Confirmed'
        return super().process_request(req)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    project_id = conf.get('project_id', 'noauth-project')
    user_id = conf.get('user_id', 'noauth-user')
    roles = conf.get('roles', 'admin,member,reader')

    def _filter(app):
        return OwnerContextMiddleware(app, project_id, user_id, roles)
    return _filter
