// Typed failures of the gallery's persistence and file import, each with a message meant for the user.

export type GalleryStorageErrorKind = 'quota' | 'unavailable' | 'invalid' | 'unknown';

/** What the failed storage call was doing (chooses the wording of the message). */
export type StorageOperation = 'load' | 'save' | 'delete' | 'clear' | 'count' | 'settings';

const DOING: Record<StorageOperation, string> = {
  load: 'read the saved gallery',
  save: 'save to the gallery',
  delete: 'delete from the gallery',
  clear: 'clear the gallery',
  count: 'count the gallery',
  settings: 'read or save settings',
};

/** IndexedDB failed or refused. `kind`: 'quota' (storage full), 'unavailable' (IndexedDB missing,
 * disabled, blocked in private browsing), 'invalid' (an entry to save is malformed: nothing was saved),
 * 'unknown' (anything else). `message` is shown to the user as is; `cause` keeps the original error. */
export class GalleryStorageError extends Error {
  override readonly name = 'GalleryStorageError';
  constructor(
    readonly kind: GalleryStorageErrorKind,
    readonly operation: StorageOperation,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Maps whatever IndexedDB (through idb-keyval) threw into a typed error with a user-facing message. */
  static from(e: unknown, operation: StorageOperation): GalleryStorageError {
    if (e instanceof GalleryStorageError) return e;
    const doing = DOING[operation];
    const name = errorName(e);
    const detail = e instanceof Error ? e.message : String(e);
    if (name === 'QuotaExceededError') {
      const lost = operation === 'save' ? ' Nothing from this batch was saved.' : '';
      return new GalleryStorageError(
        'quota',
        operation,
        `Storage is full: the browser refused to ${doing} because this site has no storage space left.${lost} ` +
          'Delete some gallery entries (or free disk space), then try again.',
        { cause: e },
      );
    }
    if (isUnavailable(e, name)) {
      return new GalleryStorageError(
        'unavailable',
        operation,
        `Browser storage (IndexedDB) is unavailable, so the app could not ${doing}: it may be disabled in the ` +
          'browser settings or blocked in private browsing. The gallery still works in this tab but will not be kept ' +
          `after it closes. (${detail})`,
        { cause: e },
      );
    }
    return new GalleryStorageError('unknown', operation, `Could not ${doing}: ${detail}`, { cause: e });
  }
}

function errorName(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'name' in e && typeof e.name === 'string' ? e.name : undefined;
}

// Firefox private mode and "never remember history" fail open() with InvalidStateError; cookie blocking
// gives SecurityError; a browser (or test runtime) without IndexedDB has no `indexedDB` global at all.
function isUnavailable(e: unknown, name: string | undefined): boolean {
  if (name === 'InvalidStateError' || name === 'SecurityError' || name === 'NotAllowedError') return true;
  if (typeof indexedDB === 'undefined') return true;
  return e instanceof ReferenceError && /indexedDB/.test(e.message);
}

export type GalleryFileErrorKind = 'not-gallery' | 'unsupported-version' | 'truncated' | 'damaged' | 'invalid' | 'unavailable';

/** An import file was refused. `kind`: 'not-gallery' (some other file), 'unsupported-version' (a gallery
 * file of a version this app cannot read), 'truncated' (shorter than its header says), 'damaged' (its
 * checksum does not match its bytes), 'invalid' (the content breaks the format: bad fields, wrong embedding
 * lengths, NaN, unnormalised embeddings, damaged thumbnails, duplicate ids…), 'unavailable' (the browser
 * offers no SHA-256 here, so the file can be neither checked nor written). `message` names the file and
 * what is wrong (with the entry id where there is one). Nothing is imported. */
export class GalleryFileError extends Error {
  override readonly name = 'GalleryFileError';
  constructor(
    readonly kind: GalleryFileErrorKind,
    message: string,
  ) {
    super(message);
  }
}
