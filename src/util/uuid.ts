const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Image ids are UUIDs; anything else (e.g. '../x') never reaches a store path. */
export const isUuid = (s: string) => UUID_RE.test(s);
