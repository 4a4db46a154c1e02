// The policies Glance 25.1.0 (Zed) registers (glance/policies/*.py, Debian 12's python3-glance), with their
// secure-RBAC defaults, scope types, and the legacy defaults they replaced. This is data: oslo.policy's rules
// for combining them live in enforcer.ts, and test/unit/policy-glance.test.ts checks every entry against
// what oslopolicy-sample-generator --namespace glance prints.

export interface Operation {
  method: string;
  path: string;
}

/** oslo.policy's DeprecatedRule: the default a policy had before (often under the same name). */
export interface DeprecatedRule {
  name: string;
  checkStr: string;
  reason?: string;
  /** release letter or name, as Glance writes it ('W' = Wallaby, 'X' = Xena) */
  since?: string;
}

/** oslo.policy's RuleDefault / DocumentedRuleDefault. */
export interface RuleDefault {
  name: string;
  checkStr: string;
  description?: string;
  /** Token scopes the policy is meant for; checked only with [oslo_policy] enforce_scope. */
  scopeTypes?: string[];
  operations?: Operation[];
  deprecatedRule?: DeprecatedRule;
  deprecatedForRemoval?: boolean;
  deprecatedReason?: string;
  deprecatedSince?: string;
}

const op = (method: string, path: string): Operation => ({ method, path });

// Glance's building blocks (glance/policies/base.py), spelled out as Glance composes them.
const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
const PROJECT_READER = 'role:reader and project_id:%(project_id)s';
const IMAGE_MEMBER_CHECK = 'project_id:%(member_id)s';
const COMMUNITY_VISIBILITY_CHECK = "'community':%(visibility)s";
const PUBLIC_VISIBILITY_CHECK = "'public':%(visibility)s";
const SHARED_VISIBILITY_CHECK = "'shared':%(visibility)s";
const VISIBLE_IMAGE =
  `project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK} or ${COMMUNITY_VISIBILITY_CHECK} or ${PUBLIC_VISIBILITY_CHECK} or ${SHARED_VISIBILITY_CHECK}`;

const ADMIN = 'role:admin';
const ADMIN_OR_PROJECT_MEMBER = `role:admin or (${PROJECT_MEMBER})`;
const ADMIN_OR_PROJECT_READER = `role:admin or (${PROJECT_READER})`;
const ADMIN_OR_PROJECT_READER_GET_IMAGE = `role:admin or (role:reader and (${VISIBLE_IMAGE}))`;
const ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = `role:admin or (role:member and (${VISIBLE_IMAGE}))`;
const ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = `role:admin or (${PROJECT_MEMBER} and project_id:%(owner)s)`;
const ADMIN_OR_PROJECT_READER_GET_NAMESPACE = `role:admin or (role:reader and (project_id:%(project_id)s or ${PUBLIC_VISIBILITY_CHECK}))`;
const ADMIN_OR_SHARED_MEMBER = `role:admin or (role:member and ${IMAGE_MEMBER_CHECK})`;
// no parentheses around the "and": it still binds tighter than "or"
const ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = `role:admin or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK})`;

const IMAGE_ROLES_REASON = '\nThe image API now supports roles.\n';
const METADEF_ROLES_REASON = '\nThe metadata API now supports project scope and default roles.\n';
const TASKS_REASON =
  '\nFrom Xena we are enforcing policy checks in the API and policy layer where\ntask policies were enforcing will be ' +
  'removed. Since task APIs are already\ndeprecated and `tasks_api_access` is checked for each API at API layer,\nthere ' +
  'will be no benefit of other having other task related policies.\n';
const GRANULAR_TASK_POLICY =
  '\n\nThis granular policy controls access to tasks, both from the tasks API as well\nas internal locations in Glance ' +
  'that use tasks (like import). Practically this\ncannot be more restrictive than the policy that controls import or ' +
  'things will\nbreak, and changing it from the default is almost certainly not what you want.\nAccess to the external ' +
  'tasks API should be restricted as desired by the\ntasks_api_access policy. This may change in the future.\n';

/** In Glance's order: base, image (with members, cache management, copy), tasks, metadefs, cache, discovery. */
export const GLANCE_DEFAULTS: readonly RuleDefault[] = [
  {
    name: 'default',
    checkStr: '',
    description: 'Defines the default rule used for policies that historically had an empty policy in the supplied policy.json file.',
    deprecatedRule: { name: 'default', checkStr: ADMIN, reason: 'In order to allow operators to accept the default policies from code by not defining them in the policy file, while still working with old policy files that rely on the ``default`` rule for policies that are not specified in the policy file, the ``default`` rule must now be explicitly set to ``"role:admin"`` when that is the desired default for unspecified rules.', since: 'Ussuri' },
  },
  {
    name: 'context_is_admin',
    checkStr: ADMIN,
    description: 'Defines the rule for the is_admin:True check.',
  },
  {
    name: 'add_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE,
    description: 'Create new image',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/images')],
    deprecatedRule: { name: 'add_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'delete_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Deletes the image',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'delete_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'get_image',
    checkStr: ADMIN_OR_PROJECT_READER_GET_IMAGE,
    description: 'Get specified image',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'get_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'get_images',
    checkStr: ADMIN_OR_PROJECT_READER,
    description: 'Get all available images',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images')],
    deprecatedRule: { name: 'get_images', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'modify_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Updates given image',
    scopeTypes: ['project'],
    operations: [op('PATCH', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'modify_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'publicize_image',
    checkStr: ADMIN,
    description: 'Publicize given image',
    scopeTypes: ['project'],
    operations: [op('PATCH', '/v2/images/{image_id}')],
  },
  {
    name: 'communitize_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Communitize given image',
    scopeTypes: ['project'],
    operations: [op('PATCH', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'communitize_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'download_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE,
    description: 'Downloads given image',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images/{image_id}/file')],
    deprecatedRule: { name: 'download_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'upload_image',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Uploads data to specified image',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/images/{image_id}/file')],
    deprecatedRule: { name: 'upload_image', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'delete_image_location',
    checkStr: ADMIN,
    description: 'Deletes the location of given image',
    scopeTypes: ['project'],
    operations: [op('PATCH', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'delete_image_location', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'get_image_location',
    checkStr: ADMIN_OR_PROJECT_READER,
    description: 'Reads the location of the image',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'get_image_location', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'set_image_location',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Sets location URI to given image',
    scopeTypes: ['project'],
    operations: [op('PATCH', '/v2/images/{image_id}')],
    deprecatedRule: { name: 'set_image_location', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'add_member',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Create image member',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/images/{image_id}/members')],
    deprecatedRule: { name: 'add_member', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'delete_member',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Delete image member',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/images/{image_id}/members/{member_id}')],
    deprecatedRule: { name: 'delete_member', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'get_member',
    checkStr: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    description: 'Show image member details',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images/{image_id}/members/{member_id}')],
    deprecatedRule: { name: 'get_member', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'get_members',
    checkStr: ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER,
    description: 'List image members',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/images/{image_id}/members')],
    deprecatedRule: { name: 'get_members', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'modify_member',
    checkStr: ADMIN_OR_SHARED_MEMBER,
    description: 'Update image member',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/images/{image_id}/members/{member_id}')],
    deprecatedRule: { name: 'modify_member', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'manage_image_cache',
    checkStr: ADMIN,
    description: 'Manage image cache',
    scopeTypes: ['project'],
  },
  {
    name: 'deactivate',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Deactivate image',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/images/{image_id}/actions/deactivate')],
    deprecatedRule: { name: 'deactivate', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'reactivate',
    checkStr: ADMIN_OR_PROJECT_MEMBER,
    description: 'Reactivate image',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/images/{image_id}/actions/reactivate')],
    deprecatedRule: { name: 'reactivate', checkStr: 'rule:default', reason: IMAGE_ROLES_REASON, since: 'W' },
  },
  {
    name: 'copy_image',
    checkStr: ADMIN,
    description: 'Copy existing image to other stores',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/images/{image_id}/import')],
  },
  {
    name: 'get_task',
    checkStr: 'rule:default',
    description: 'Get an image task.' + GRANULAR_TASK_POLICY,
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/tasks/{task_id}')],
    deprecatedRule: { name: 'get_task', checkStr: 'rule:default', reason: TASKS_REASON, since: 'X' },
  },
  {
    name: 'get_tasks',
    checkStr: 'rule:default',
    description: 'List tasks for all images.' + GRANULAR_TASK_POLICY,
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/tasks')],
    deprecatedRule: { name: 'get_tasks', checkStr: 'rule:default', reason: TASKS_REASON, since: 'X' },
  },
  {
    name: 'add_task',
    checkStr: 'rule:default',
    description: 'List tasks for all images.' + GRANULAR_TASK_POLICY,
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/tasks')],
    deprecatedRule: { name: 'add_task', checkStr: 'rule:default', reason: TASKS_REASON, since: 'X' },
  },
  {
    name: 'modify_task',
    checkStr: 'rule:default',
    description: 'This policy is not used.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/tasks/{task_id}')],
    deprecatedForRemoval: true,
    deprecatedReason: '\nThis policy check has never been honored by the API. It will be removed in a\nfuture release.\n',
    deprecatedSince: 'W',
  },
  {
    name: 'tasks_api_access',
    checkStr: ADMIN,
    description: '\nThis is a generic blanket policy for protecting all task APIs. It is not\ngranular and will not allow you to separate writable and readable task\noperations into different roles.\n',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/tasks/{task_id}'), op('GET', '/v2/tasks'), op('POST', '/v2/tasks'), op('DELETE', '/v2/tasks/{task_id}')],
  },
  {
    name: 'metadef_default',
    checkStr: '',
  },
  {
    name: 'metadef_admin',
    checkStr: ADMIN,
  },
  {
    name: 'get_metadef_namespace',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get a specific namespace.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}')],
    deprecatedRule: { name: 'get_metadef_namespace', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'get_metadef_namespaces',
    checkStr: ADMIN_OR_PROJECT_READER,
    description: 'List namespace.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces')],
    deprecatedRule: { name: 'get_metadef_namespaces', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'modify_metadef_namespace',
    checkStr: 'rule:metadef_admin',
    description: 'Modify an existing namespace.',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/metadefs/namespaces/{namespace_name}')],
  },
  {
    name: 'add_metadef_namespace',
    checkStr: 'rule:metadef_admin',
    description: 'Create a namespace.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces')],
  },
  {
    name: 'delete_metadef_namespace',
    checkStr: 'rule:metadef_admin',
    description: 'Delete a namespace.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/metadefs/namespaces/{namespace_name}')],
  },
  {
    name: 'get_metadef_object',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get a specific object from a namespace.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}')],
    deprecatedRule: { name: 'get_metadef_object', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'get_metadef_objects',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get objects from a namespace.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/objects')],
    deprecatedRule: { name: 'get_metadef_objects', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'modify_metadef_object',
    checkStr: 'rule:metadef_admin',
    description: 'Update an object within a namespace.',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}')],
  },
  {
    name: 'add_metadef_object',
    checkStr: 'rule:metadef_admin',
    description: 'Create an object within a namespace.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/objects')],
  },
  {
    name: 'delete_metadef_object',
    checkStr: 'rule:metadef_admin',
    description: 'Delete an object within a namespace.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}')],
  },
  {
    name: 'list_metadef_resource_types',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'List meta definition resource types.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/resource_types')],
    deprecatedRule: { name: 'list_metadef_resource_types', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'get_metadef_resource_type',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get meta definition resource types associations.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/resource_types')],
    deprecatedRule: { name: 'get_metadef_resource_type', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'add_metadef_resource_type_association',
    checkStr: 'rule:metadef_admin',
    description: 'Create meta definition resource types association.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/resource_types')],
  },
  {
    name: 'remove_metadef_resource_type_association',
    checkStr: 'rule:metadef_admin',
    description: 'Delete meta definition resource types association.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/resource_types/{name}')],
  },
  {
    name: 'get_metadef_property',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get a specific meta definition property.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}')],
    deprecatedRule: { name: 'get_metadef_property', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'get_metadef_properties',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'List meta definition properties.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/properties')],
    deprecatedRule: { name: 'get_metadef_properties', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'modify_metadef_property',
    checkStr: 'rule:metadef_admin',
    description: 'Update meta definition property.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}')],
  },
  {
    name: 'add_metadef_property',
    checkStr: 'rule:metadef_admin',
    description: 'Create meta definition property.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/properties')],
  },
  {
    name: 'remove_metadef_property',
    checkStr: 'rule:metadef_admin',
    description: 'Delete meta definition property.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}')],
  },
  {
    name: 'get_metadef_tag',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'Get tag definition.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}')],
    deprecatedRule: { name: 'get_metadef_tag', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'get_metadef_tags',
    checkStr: ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    description: 'List tag definitions.',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/metadefs/namespaces/{namespace_name}/tags')],
    deprecatedRule: { name: 'get_metadef_tags', checkStr: 'rule:metadef_default', reason: METADEF_ROLES_REASON, since: 'X' },
  },
  {
    name: 'modify_metadef_tag',
    checkStr: 'rule:metadef_admin',
    description: 'Update tag definition.',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}')],
  },
  {
    name: 'add_metadef_tag',
    checkStr: 'rule:metadef_admin',
    description: 'Add tag definition.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}')],
  },
  {
    name: 'add_metadef_tags',
    checkStr: 'rule:metadef_admin',
    description: 'Create tag definitions.',
    scopeTypes: ['project'],
    operations: [op('POST', '/v2/metadefs/namespaces/{namespace_name}/tags')],
  },
  {
    name: 'delete_metadef_tag',
    checkStr: 'rule:metadef_admin',
    description: 'Delete tag definition.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}')],
  },
  {
    name: 'delete_metadef_tags',
    checkStr: 'rule:metadef_admin',
    description: 'Delete tag definitions.',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/metadefs/namespaces/{namespace_name}/tags')],
  },
  {
    name: 'cache_image',
    checkStr: ADMIN,
    description: 'Queue image for caching',
    scopeTypes: ['project'],
    operations: [op('PUT', '/v2/cache/{image_id}')],
    deprecatedRule: { name: 'cache_image', checkStr: 'rule:manage_image_cache', reason: IMAGE_ROLES_REASON, since: 'X' },
  },
  {
    name: 'cache_list',
    checkStr: ADMIN,
    description: 'List cache status',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/cache')],
    deprecatedRule: { name: 'cache_list', checkStr: 'rule:manage_image_cache', reason: IMAGE_ROLES_REASON, since: 'X' },
  },
  {
    name: 'cache_delete',
    checkStr: ADMIN,
    description: 'Delete image(s) from cache and/or queue',
    scopeTypes: ['project'],
    operations: [op('DELETE', '/v2/cache'), op('DELETE', '/v2/cache/{image_id}')],
    deprecatedRule: { name: 'cache_delete', checkStr: 'rule:manage_image_cache', reason: IMAGE_ROLES_REASON, since: 'X' },
  },
  {
    name: 'stores_info_detail',
    checkStr: ADMIN,
    description: 'Expose store specific information',
    scopeTypes: ['project'],
    operations: [op('GET', '/v2/info/stores/detail')],
  },

];
