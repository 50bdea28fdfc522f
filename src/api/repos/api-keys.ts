import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { createDefinitions, type Definition, type Store } from '../../store/index.ts';
import { type Authenticator, createAuthenticator, generateApiKey, type StoredKey } from '../auth.ts';
import type { Role } from '../route.ts';

/** What the api_keys table keeps per key (as the definition body): never the token itself. */
export interface ApiKeyBody {
  name: string;
  role: Role;
  tenant?: string;
  /** hex SHA-256 of the token */
  hash: string;
  createdAtMs: number;
  createdBy: string;
}

/** A key as the API shows it: no hash, no token. */
export interface ApiKeyView {
  keyId: string;
  name: string;
  role: Role;
  tenant?: string;
  revoked: boolean;
  createdAt: string;
  createdBy: string;
  version: number;
}

export interface KeyRing {
  readonly authenticator: Authenticator;
  /** Creates a key; the token is returned once and never stored. */
  create(
    input: { name: string; role: Role; tenant?: string },
    actor: string,
  ): Promise<{ token: string; key: ApiKeyView }>;
  get(keyId: string): Promise<ApiKeyView | undefined>;
  list(opts: { includeRevoked: boolean; limit: number; offset: number }): Promise<ApiKeyView[]>;
  /** Revokes a key at once in this process (other instances within `refreshMs`). */
  revoke(keyId: string, actor: string): Promise<ApiKeyView>;
  /** Reloads every key from the store (called on a timer by `start`). */
  refresh(): Promise<void>;
  /** Loads the keys and refreshes them every `refreshMs` so revocations on other instances apply. */
  start(): Promise<void>;
  stop(): void;
  readonly size: number;
}

function view(d: Definition<ApiKeyBody>): ApiKeyView {
  const v: ApiKeyView = {
    keyId: d.id,
    name: d.body.name,
    role: d.body.role,
    revoked: d.deleted,
    createdAt: new Date(d.body.createdAtMs).toISOString(),
    createdBy: d.body.createdBy,
    version: d.version,
  };
  if (d.body.tenant !== undefined) v.tenant = d.body.tenant;
  return v;
}

/**
 * API keys persisted in the store's api_keys table (versioned, revocation = soft delete, audit rows),
 * held in memory for authentication: a request never waits on ClickHouse to check its key.
 */
export function createKeyRing(opts: {
  store: Store;
  logger: Logger;
  /** Bootstrap admin token (configuration or resolveAdminKey). */
  adminKey?: string;
  refreshMs?: number;
}): KeyRing {
  const defs = createDefinitions<ApiKeyBody>({ store: opts.store, table: 'api_keys' });
  const logger = opts.logger.child({ stage: 'api', component: 'keys' });
  let keys = new Map<string, StoredKey>();
  let timer: NodeJS.Timeout | undefined;

  const remember = (d: Definition<ApiKeyBody>) => {
    keys.set(d.id, {
      keyId: d.id,
      hash: d.body.hash,
      role: d.body.role,
      tenant: d.body.tenant,
      revoked: d.deleted,
    });
  };

  const ring: KeyRing = {
    authenticator: createAuthenticator({ adminKey: opts.adminKey, lookup: (id) => keys.get(id) }),
    async create(input, actor) {
      if ((input.role === 'retailer') !== (input.tenant !== undefined)) {
        throw new AppError('VALIDATION_FAILED', 'tenant is required for retailer keys and only for them', {
          details: {
            errors: [{ path: 'tenant', message: 'required for role retailer, not allowed otherwise' }],
          },
        });
      }
      const { keyId, token, hash } = generateApiKey();
      const body: ApiKeyBody = {
        name: input.name,
        role: input.role,
        hash,
        createdAtMs: Date.now(),
        createdBy: actor,
      };
      if (input.tenant !== undefined) body.tenant = input.tenant;
      const version = await defs.put(keyId, input.tenant ?? '', body, { expectedVersion: 0, actor });
      const def: Definition<ApiKeyBody> = {
        id: keyId,
        tenant: input.tenant ?? '',
        version,
        deleted: false,
        body,
        updatedAtMs: body.createdAtMs,
        updatedBy: actor,
      };
      remember(def);
      logger.info({ keyId, role: input.role, tenant: input.tenant, actor }, 'API key created');
      return { token, key: view(def) };
    },
    async get(keyId) {
      const d = await defs.get(keyId);
      return d ? view(d) : undefined;
    },
    async list(o) {
      const rows = await defs.list({ includeDeleted: o.includeRevoked, limit: o.limit, offset: o.offset });
      return rows.map(view);
    },
    async revoke(keyId, actor) {
      const cur = await defs.get(keyId);
      if (!cur || cur.deleted) throw new AppError('NOT_FOUND', `no active API key ${keyId}`);
      const version = await defs.remove(keyId, { expectedVersion: cur.version, actor });
      const def = { ...cur, version, deleted: true, updatedAtMs: Date.now(), updatedBy: actor };
      remember(def);
      logger.info({ keyId, actor }, 'API key revoked');
      return view(def);
    },
    async refresh() {
      const next = new Map<string, StoredKey>();
      for (let offset = 0; ; offset += 10_000) {
        const page = await defs.list({ includeDeleted: true, limit: 10_000, offset });
        for (const d of page) {
          next.set(d.id, {
            keyId: d.id,
            hash: d.body.hash,
            role: d.body.role,
            tenant: d.body.tenant,
            revoked: d.deleted,
          });
        }
        if (page.length < 10_000) break;
      }
      keys = next;
    },
    async start() {
      await ring.refresh();
      const every = opts.refreshMs ?? 5000;
      timer = setInterval(() => {
        ring.refresh().catch((err) => logger.warn({ err }, 'API key refresh failed; keeping the last set'));
      }, every);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    get size() {
      return keys.size;
    },
  };
  return ring;
}

/**
 * The bootstrap admin key: ADMIN_API_KEY when configured; otherwise the one in
 * `<dataDir>/admin-api-key`, generated (mode 0600) on first start. Only the file's path is logged
 * (once, at warn), never the key.
 */
export async function resolveAdminKey(opts: {
  configured?: string;
  dataDir: string;
  logger: Logger;
}): Promise<string> {
  if (opts.configured) {
    if (opts.configured.length < 16) {
      throw new AppError('CONFIG_INVALID', 'ADMIN_API_KEY must be at least 16 characters');
    }
    return opts.configured;
  }
  const file = join(opts.dataDir, 'admin-api-key');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (existing.length >= 16) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = `gt_admin_${randomBytes(32).toString('base64url')}`;
  await mkdir(opts.dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  opts.logger.warn(
    { file },
    'ADMIN_API_KEY is not set: generated a bootstrap admin key and wrote it to this file',
  );
  return token;
}
