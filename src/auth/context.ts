/**
 * Who is asking: filled by the auth layer (noauth, or Keystone's validated token). The fields mirror what
 * oslo.context hands to oslo.policy (to_policy_values), so policy rules can name them.
 */
export interface RequestContext {
  projectId: string | null;
  userId: string | null;
  roles: string[];
  isAdmin: boolean;
  requestId: string;
  projectName?: string | null;
  projectDomainId?: string | null;
  userName?: string | null;
  userDomainId?: string | null;
  /** Domain-scoped token's domain. */
  domainId?: string | null;
  /** 'all' for a system-scoped token, else null. */
  systemScope?: string | null;
  /** The caller's own token, forwarded upstream in edge mode. */
  authToken?: string | null;
  /** Keystone's catalog, with include_service_catalog. */
  serviceCatalog?: unknown[] | null;
  /** X-Is-Admin-Project; oslo.context assumes true when absent. */
  isAdminProject?: boolean;
  /** The service token's identity (X-Service-* headers), when a service sent one along. */
  serviceUserId?: string | null;
  serviceUserDomainId?: string | null;
  serviceProjectId?: string | null;
  serviceProjectDomainId?: string | null;
  serviceRoles?: string[];
}

export interface NoauthSettings {
  project: string;
  user: string;
  roles: string[];
  trustHeaders: boolean;
}

type HeaderGetter = (name: string) => string | undefined;

/**
 * noauth: a fixed identity, or the X-Project-Id/X-User-Id/X-Roles headers when trusted (tests, behind a proxy).
 * Trusted headers carry the roles: a request without X-Roles has none (not the configured admin default), so
 * leaving a header out never grants more than sending it.
 */
export function noauthContext(s: NoauthSettings, header: HeaderGetter, requestId: string): RequestContext {
  let projectId: string | null = s.project || null;
  let userId: string | null = s.user || null;
  let roles = s.roles;
  if (s.trustHeaders) {
    projectId = header('x-project-id') ?? header('x-tenant-id') ?? projectId;
    userId = header('x-user-id') ?? userId;
    roles = (header('x-roles') ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  }
  return { projectId, userId, roles, isAdmin: roles.includes('admin'), requestId };
}
