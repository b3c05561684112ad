/** A unique id for a gallery entry. crypto.randomUUID exists only in secure contexts (https, localhost): the
 * app can also be opened over plain http on a LAN address. */
export function newEntryId(): string {
  if (typeof crypto.randomUUID === 'function' && globalThis.isSecureContext !== false) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
