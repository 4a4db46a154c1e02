import { apiTime } from '../util/time.js';
// The image record as kept in the catalog, and its Glance API view.

export type ImageStatus =
  | 'queued' | 'saving' | 'active' | 'killed' | 'deleted' | 'uploading' | 'importing' | 'pending_delete' | 'deactivated';
export type Visibility = 'public' | 'community' | 'shared' | 'private';

export interface ImageLocation {
  url: string;
  store: string; // backend id
  metadata: Record<string, unknown>;
}

export interface ImageRecord {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: Visibility;
  protected: boolean;
  os_hidden: boolean;
  owner: string | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  xxh3: string | null; // imaged's own fast hash, used to verify copies and cache fills
  size: number | null;
  virtual_size: number | null;
  min_ram: number;
  min_disk: number;
  disk_format: string | null;
  container_format: string | null;
  created_at: string;
  updated_at: string;
  tags: string[];
  properties: Record<string, unknown>; // free-form extra properties
  locations: ImageLocation[];
}

/** Fields of the record that are not extra properties, as Glance's API names them. */
export const BASE_FIELDS = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'owner', 'checksum', 'os_hash_algo',
  'os_hash_value', 'size', 'virtual_size', 'min_ram', 'min_disk', 'disk_format', 'container_format',
  'created_at', 'updated_at', 'tags', 'locations', 'direct_url', 'self', 'file', 'schema', 'stores',
]);

export interface ViewOptions {
  showDirectUrl: boolean;
  showMultipleLocations: boolean;
  multiStore: boolean;
}

export function imageView(img: ImageRecord, opts: ViewOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { ...img.properties };
  Object.assign(out, {
    name: img.name,
    disk_format: img.disk_format,
    container_format: img.container_format,
    visibility: img.visibility,
    size: img.size,
    virtual_size: img.virtual_size,
    status: img.status,
    checksum: img.checksum,
    protected: img.protected,
    min_ram: img.min_ram,
    min_disk: img.min_disk,
    owner: img.owner,
    os_hidden: img.os_hidden,
    os_hash_algo: img.os_hash_algo,
    os_hash_value: img.os_hash_value,
    id: img.id,
    created_at: apiTime(img.created_at),
    updated_at: apiTime(img.updated_at),
    tags: img.tags,
    self: `/v2/images/${img.id}`,
    file: `/v2/images/${img.id}/file`,
    schema: '/v2/schemas/image',
  });
  if (opts.multiStore && img.locations.length > 0) out.stores = img.locations.map((l) => l.store).join(',');
  if (opts.showDirectUrl && img.locations.length > 0) out.direct_url = img.locations[0].url;
  if (opts.showMultipleLocations) {
    out.locations = img.locations.map((l) => ({ url: l.url, metadata: { ...l.metadata, store: l.store } }));
  }
  return out;
}
