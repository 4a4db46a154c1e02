// Glance's image/member JSON schemas, served at /v2/schemas/*, and the value lists they validate against.

export const CONTAINER_FORMATS = ['ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
export const DISK_FORMATS = ['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const STATUSES = ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'];
export const VISIBILITIES = ['community', 'public', 'private', 'shared'];

const UUID_PATTERN = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

const ro = (type: unknown, description: string, extra: object = {}) => ({ type, readOnly: true, description, ...extra });

// Glance's schema-image.json custom properties. Glance marks them `is_base: false` (api/v2/images.py
// get_schema): glanceclient then PATCHes them with "add" (it uses "replace" for base properties, which fails
// with 409 on an image that does not have the property yet).
const customProperties: Record<string, Record<string, unknown>> = {
  kernel_id: { type: ['null', 'string'], pattern: UUID_PATTERN, description: 'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.' },
  ramdisk_id: { type: ['null', 'string'], pattern: UUID_PATTERN, description: 'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.' },
  instance_uuid: { type: 'string', description: 'Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)' },
  architecture: { type: 'string', description: 'Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_distro: { type: 'string', description: 'Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_version: { type: 'string', description: 'Operating system version as specified by the distributor.' },
  description: { type: 'string', description: 'A human-readable string describing this image.' },
  cinder_encryption_key_id: { type: 'string', description: 'Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image' },
  cinder_encryption_key_deletion_policy: { type: 'string', enum: ['on_image_deletion', 'do_not_delete'], description: 'States the condition under which the Image Service will delete the object associated with the \'cinder_encryption_key_id\' image property.  If this property is missing, the Image Service will take no action' },
};

/** Properties of the image schema. `stores` is left out on purpose: glanceclient 4.1 turns every schema
 *  property into a CLI flag and `--stores` then clashes with image-create-via-import's own flag. */
export const imageProperties: Record<string, Record<string, unknown>> = {
  id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
  name: { type: ['null', 'string'], description: 'Descriptive name for the image', maxLength: 255 },
  status: ro('string', 'Status of the image', { enum: STATUSES }),
  visibility: { type: 'string', description: 'Scope of image accessibility', enum: VISIBILITIES },
  protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
  os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
  checksum: ro(['null', 'string'], 'md5 hash of image contents.', { maxLength: 32 }),
  os_hash_algo: ro(['null', 'string'], 'Algorithm to calculate the os_hash_value', { maxLength: 64 }),
  os_hash_value: ro(['null', 'string'], 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', { maxLength: 128 }),
  owner: { type: ['null', 'string'], description: 'Owner of the image', maxLength: 255 },
  size: ro(['null', 'integer'], 'Size of image file in bytes'),
  virtual_size: ro(['null', 'integer'], 'Virtual size of image in bytes'),
  container_format: { type: ['null', 'string'], description: 'Format of the container', enum: [null, ...CONTAINER_FORMATS] },
  disk_format: { type: ['null', 'string'], description: 'Format of the disk', enum: [null, ...DISK_FORMATS] },
  created_at: ro('string', 'Date and time of image registration'),
  updated_at: ro('string', 'Date and time of the last image modification'),
  tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
  direct_url: ro('string', 'URL to access the image file kept in external store'),
  min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
  min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
  self: ro('string', 'An image self url'),
  file: ro('string', 'An image file url'),
  schema: ro('string', 'An image schema url'),
  locations: {
    type: 'array',
    items: {
      type: 'object',
      properties: { url: { type: 'string', maxLength: 255 }, metadata: { type: 'object' } },
      required: ['url', 'metadata'],
    },
    description: 'A set of URLs to access the image file kept in external store',
  },
  ...Object.fromEntries(Object.entries(customProperties).map(([k, v]) => [k, { ...v, is_base: false }])),
};

const imageLinks = [
  { rel: 'self', href: '{self}' },
  { rel: 'enclosure', href: '{file}' },
  { rel: 'describedby', href: '{schema}' },
];

export const imageSchema = {
  name: 'image',
  properties: imageProperties,
  additionalProperties: { type: 'string' },
  links: imageLinks,
};

export const imagesSchema = {
  name: 'images',
  properties: {
    images: { type: 'array', items: imageSchema },
    schema: { type: 'string' },
    first: { type: 'string' },
    next: { type: 'string' },
  },
  links: [
    { rel: 'first', href: '{first}' },
    { rel: 'next', href: '{next}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

const memberProperties = {
  member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
  image_id: { type: 'string', description: 'An identifier for the image', pattern: UUID_PATTERN },
  created_at: { type: 'string', description: 'Date and time of image member creation' },
  updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
  status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
  schema: { readOnly: true, type: 'string' }, // no description in Glance 25
};

export const memberSchema = { name: 'member', properties: memberProperties };
export const membersSchema = {
  name: 'members',
  properties: { members: { type: 'array', items: memberSchema }, schema: { type: 'string' } },
  links: [{ rel: 'describedby', href: '{schema}' }],
};
