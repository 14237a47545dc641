/**
 * Typed errors of the blob store. Reads fail closed: anything that is not exactly what we wrote
 * surfaces as one of these, never as wrong bytes.
 */

/** Base class of every store error, so a caller can catch them all at once. */
export class StoreError extends Error {
  override name = 'StoreError';
}

/** Why an object was refused; each code names the first check that failed. */
export type IntegrityReason =
  | 'truncated' // shorter than header + tag
  | 'bad_magic' // not a Posel store object at all
  | 'unsupported_version' // written by a newer (or unknown) format
  | 'unknown_compression' // header names a codec we do not have
  | 'unknown_key' // header names a key id the key ring does not hold
  | 'auth_failed' // GCM tag mismatch: flipped bit, truncation inside the body, or another object's file
  | 'too_large' // would expand past the size cap (decompression bomb) or the file is larger than any object
  | 'corrupt_compression' // authenticated but not decompressible: only a bug or a stolen key gets here
  | 'not_a_pack'; // authenticated, but a part was asked of an object that is not a pack of parts

/** An object exists but cannot be trusted; `reason` says which check failed. */
export class StoreIntegrityError extends StoreError {
  override name = 'StoreIntegrityError';
  constructor(
    readonly objectId: string,
    readonly reason: IntegrityReason,
    detail?: string,
  ) {
    super(`Store object ${objectId} failed the integrity check (${reason})${detail ? `: ${detail}` : ''}.`);
  }
}

/** No object is stored under this id. */
export class StoreNotFoundError extends StoreError {
  override name = 'StoreNotFoundError';
  constructor(readonly objectId: string) {
    super(`Store object ${objectId} does not exist.`);
  }
}

/** Why a storage folder was refused at open. */
export type FolderReason =
  | 'not_a_directory'
  | 'not_a_store' // not empty and no marker: most likely the wrong folder
  | 'bad_marker' // marker unreadable, not ours, or of a newer format version
  | 'store_mismatch' // marker names another store than the database expects
  | 'missing_store' // folder empty although the database expects an existing store (volume not mounted?)
  | 'wrong_keys'; // the key ring is not the one this store was created with

/** The storage folder cannot be used; the message says what to check. */
export class StoreFolderError extends StoreError {
  override name = 'StoreFolderError';
  constructor(
    readonly reason: FolderReason,
    message: string,
  ) {
    super(message);
  }
}

/** The key file or master key is missing, malformed or unsafe. */
export class KeyRingError extends StoreError {
  override name = 'KeyRingError';
}

/** `put` was given more bytes than the store would agree to read back. */
export class StoreTooLargeError extends StoreError {
  override name = 'StoreTooLargeError';
}
