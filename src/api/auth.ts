import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Role } from './route.ts';

/** Resolves a Bearer token to its principal; undefined for unknown, malformed or revoked keys. */
export interface Authenticator {
  authenticate(token: string): Principal | undefined | Promise<Principal | undefined>;
}

/** What is stored of a key: never the token, only its SHA-256. */
export interface StoredKey {
  keyId: string;
  /** hex SHA-256 of the whole token */
  hash: string;
  role: Role;
  tenant?: string;
  revoked: boolean;
}

/** The id of the bootstrap admin key from configuration. */
export const BOOTSTRAP_KEY_ID = 'bootstrap-admin';

const TOKEN_RE = /^gt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * A fresh API key: `gt_<16 hex key id>_<256 random bits, base64url>`. The id is public (it names
 * the key in lists and audit rows); only the token's SHA-256 is stored.
 */
export function generateApiKey(): { keyId: string; token: string; hash: string } {
  const keyId = randomBytes(8).toString('hex');
  const token = `gt_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, token, hash: hashApiKey(token) };
}

/** SHA-256 of a token, hex. A 256-bit random token needs no slow hash: it cannot be guessed. */
export function hashApiKey(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The key id inside a well-formed generated token, else undefined. */
export function keyIdOf(token: string): string | undefined {
  return TOKEN_RE.exec(token)?.[1];
}

function sameHash(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/**
 * Authenticates against the bootstrap admin key (if any) and stored keys. `lookup` reads a stored
 * key by id (e.g. from an in-memory key ring); hashes are compared in constant time.
 */
export function createAuthenticator(opts: {
  adminKey?: string;
  lookup(keyId: string): StoredKey | undefined;
}): Authenticator {
  const adminHash = opts.adminKey ? hashApiKey(opts.adminKey) : undefined;
  return {
    authenticate(token) {
      if (token.length === 0 || token.length > 512) return undefined;
      const hash = hashApiKey(token);
      if (adminHash && sameHash(hash, adminHash)) return { keyId: BOOTSTRAP_KEY_ID, role: 'admin' };
      const keyId = keyIdOf(token);
      if (!keyId) return undefined;
      const stored = opts.lookup(keyId);
      if (!stored || stored.revoked || !sameHash(hash, stored.hash)) return undefined;
      return stored.tenant === undefined
        ? { keyId, role: stored.role }
        : { keyId, role: stored.role, tenant: stored.tenant };
    },
  };
}

/** The token of an `Authorization: Bearer <token>` header, else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}
