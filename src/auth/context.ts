/** Who is asking: filled by the auth layer (noauth for now, Keystone later). */
export interface RequestContext {
  projectId: string | null;
  userId: string | null;
  roles: string[];
  isAdmin: boolean;
  requestId: string;
}

export interface NoauthSettings {
  project: string;
  user: string;
  roles: string[];
  trustHeaders: boolean;
}

type HeaderGetter = (name: string) => string | undefined;

/** noauth: a fixed identity, or the X-Project-Id/X-User-Id/X-Roles headers when trusted (tests, behind a proxy). */
export function noauthContext(s: NoauthSettings, header: HeaderGetter, requestId: string): RequestContext {
  let projectId: string | null = s.project || null;
  let userId: string | null = s.user || null;
  let roles = s.roles;
  if (s.trustHeaders) {
    projectId = header('x-project-id') ?? header('x-tenant-id') ?? projectId;
    userId = header('x-user-id') ?? userId;
    const r = header('x-roles');
    if (r !== undefined) roles = r.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  }
  return { projectId, userId, roles, isAdmin: roles.includes('admin'), requestId };
}
