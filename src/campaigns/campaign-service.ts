import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { FenceInfo } from './compile.ts';
import { parseInstant } from './schedule.ts';
import {
  type Campaign,
  type CampaignSpec,
  type CampaignStatus,
  campaignInputSchema,
  DEFAULT_POLICY,
  type Policy,
  policySchema,
} from './schema.ts';
import { compileTemplate, renderTemplate } from './template.ts';

/** The slice of the store's versioned definitions the service uses (createDefinitions gives it). */
export interface DefinitionsPort<T> {
  get(
    id: string,
  ): Promise<{ id: string; tenant: string; version: number; deleted: boolean; body: T } | undefined>;
  list(opts?: { tenant?: string; limit?: number; offset?: number }): Promise<{ version: number; body: T }[]>;
  put(
    id: string,
    tenant: string,
    body: T,
    opts: { expectedVersion?: number; actor: string },
  ): Promise<number>;
}

export interface Actor {
  /** API key id (audit). */
  id: string;
  role: 'admin' | 'analyst' | 'retailer' | 'viewer' | 'ingest';
}

export const LIFECYCLE_ACTIONS = [
  'submit',
  'approve',
  'reject',
  'activate',
  'pause',
  'resume',
  'finish',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

// from-states, the resulting state, and who besides admin may do it.
const TRANSITIONS: Record<
  LifecycleAction,
  { from: CampaignStatus[]; to: CampaignStatus; roles: Actor['role'][] }
> = {
  submit: { from: ['draft', 'rejected'], to: 'submitted', roles: ['retailer'] },
  approve: { from: ['submitted'], to: 'approved', roles: ['analyst'] },
  reject: { from: ['submitted'], to: 'rejected', roles: ['analyst'] },
  activate: { from: ['approved'], to: 'active', roles: ['retailer', 'analyst'] },
  pause: { from: ['active'], to: 'paused', roles: ['retailer', 'analyst'] },
  resume: { from: ['paused'], to: 'active', roles: ['retailer', 'analyst'] },
  finish: {
    from: ['draft', 'submitted', 'approved', 'rejected', 'active', 'paused'],
    to: 'finished',
    roles: ['retailer', 'analyst'],
  },
};

/** The next state of `status` under `action` by `role`; throws FORBIDDEN or CAMPAIGN_STATE_INVALID. */
export function nextStatus(
  status: CampaignStatus,
  action: LifecycleAction,
  role: Actor['role'],
): CampaignStatus {
  const t = TRANSITIONS[action];
  if (role !== 'admin' && !t.roles.includes(role)) {
    throw new AppError('FORBIDDEN', `a ${role} key may not ${action} a campaign`);
  }
  if (!t.from.includes(status)) {
    throw new AppError('CAMPAIGN_STATE_INVALID', `cannot ${action} a campaign that is ${status}`, {
      details: { status, allowedFrom: t.from },
    });
  }
  return t.to;
}

export interface StoredCampaign extends Campaign {
  version: number;
}

export interface Preview {
  text: string;
  encoding: string;
  parts: number;
  chars: number;
  fenceId: string;
  language: string;
}

export interface CampaignServiceDeps {
  campaigns: DefinitionsPort<Campaign>;
  policy: DefinitionsPort<Policy>;
  /** Current geofences (the geo matcher's snapshot). */
  fences: { get(id: string): FenceInfo | undefined; all(): Iterable<FenceInfo> };
  /** Segments by id; retailers may use only those offered to them. */
  segments: { get(id: string): { offeredToRetailers: boolean } | undefined };
  measure(text: string): { encoding: string; parts: number; chars?: number };
  promoCodeLength: number;
  /** Told after every change (the engine reloads its campaigns or policy). */
  onChange?: (what: 'campaigns' | 'policy') => void;
}

const POLICY_ID = 'global';
const MAX_PARTS = 6;

/** Campaign definitions, their lifecycle and the global policy, over the versioned definitions store. */
export function createCampaignService(deps: CampaignServiceDeps) {
  const changed = (what: 'campaigns' | 'policy') => deps.onChange?.(what);

  const validate = (spec: CampaignSpec, tenant: string, role: Actor['role']): void => {
    const issues: { path: string; message: string }[] = [];
    const foreign = spec.fences.ids.filter((id) => deps.fences.get(id)?.tenant !== tenant);
    if (foreign.length > 0) {
      issues.push({
        path: 'fences.ids',
        message: `no geofences ${foreign.slice(0, 10).join(', ')} in tenant ${tenant}`,
      });
    }
    const seg = deps.segments.get(spec.segmentId);
    if (!seg || (role === 'retailer' && !seg.offeredToRetailers)) {
      issues.push({ path: 'segmentId', message: `segment ${spec.segmentId} is not offered` });
    }
    try {
      if (
        parseInstant(spec.schedule.start, spec.schedule.timeZone) >=
        parseInstant(spec.schedule.end, spec.schedule.timeZone)
      ) {
        issues.push({ path: 'schedule.end', message: 'end must be after start' });
      }
    } catch (err) {
      issues.push({ path: 'schedule', message: (err as Error).message });
    }
    const templates = [spec.message.template, ...Object.values(spec.message.variants)];
    for (const f of spec.followUps) templates.push(f.template, ...Object.values(f.variants));
    for (const t of templates) {
      const p = deps.measure(renderTemplate(compileTemplate(t), sampleValues(spec)));
      if (p.parts > MAX_PARTS)
        issues.push({
          path: 'message',
          message: `a template needs ${p.parts} SMS parts (at most ${MAX_PARTS})`,
        });
    }
    if (issues.length > 0) {
      throw new AppError('CAMPAIGN_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), {
        details: { errors: issues },
      });
    }
  };

  const sampleValues = (spec: CampaignSpec, fence?: FenceInfo) => ({
    store_name: fence?.name ?? 'Sample store name',
    store_address: fence?.address ?? '12 Sample Street, Sample City',
    store_id: fence?.storeId ?? 'store-1',
    promo_code: 'K7Q2XM'.slice(0, deps.promoCodeLength).padEnd(deps.promoCodeLength, 'K'),
    campaign_name: spec.name,
  });

  const parse = (input: unknown): CampaignSpec => {
    const r = campaignInputSchema.safeParse(input);
    if (!r.success) {
      const errors = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new AppError('CAMPAIGN_INVALID', errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
        details: { errors },
      });
    }
    return r.data;
  };

  const load = async (id: string, tenant?: string): Promise<StoredCampaign> => {
    const d = await deps.campaigns.get(id);
    if (!d || d.deleted || (tenant !== undefined && d.tenant !== tenant)) {
      throw new AppError('CAMPAIGN_NOT_FOUND', `no campaign ${id}`);
    }
    return { ...d.body, version: d.version };
  };

  const save = async (c: Campaign, expectedVersion: number, actor: Actor): Promise<StoredCampaign> => {
    const version = await deps.campaigns.put(c.id, c.tenant, c, { expectedVersion, actor: actor.id });
    changed('campaigns');
    return { ...c, version };
  };

  return {
    async create(tenant: string, input: unknown, actor: Actor): Promise<StoredCampaign> {
      const spec = parse(input);
      validate(spec, tenant, actor.role);
      const c: Campaign = { ...spec, id: `cmp_${randomBytes(8).toString('hex')}`, tenant, status: 'draft' };
      return save(c, 0, actor);
    },
    get: load,
    async list(opts: { tenant?: string; status?: CampaignStatus; limit?: number; offset?: number } = {}) {
      const rows = await deps.campaigns.list({ tenant: opts.tenant, limit: opts.limit, offset: opts.offset });
      return rows
        .map((r) => ({ ...r.body, version: r.version }))
        .filter((c) => opts.status === undefined || c.status === opts.status);
    },
    /** Every campaign (for the engine). */
    async all(): Promise<Campaign[]> {
      return (await deps.campaigns.list({ limit: 1_000_000 })).map((r) => r.body);
    },
    /** Replaces the spec. An approved, active or paused campaign goes back to submitted; a rejected one to draft. */
    async update(
      id: string,
      input: unknown,
      expectedVersion: number | undefined,
      actor: Actor,
      tenant?: string,
    ) {
      const prior = await load(id, tenant);
      if (prior.status === 'finished')
        throw new AppError('CAMPAIGN_STATE_INVALID', 'a finished campaign cannot be edited');
      const spec = parse(input);
      validate(spec, prior.tenant, actor.role);
      const status: CampaignStatus =
        prior.status === 'draft' || prior.status === 'rejected' ? 'draft' : 'submitted';
      const c: Campaign = { ...spec, id, tenant: prior.tenant, status };
      return save(c, expectedVersion ?? prior.version, actor);
    },
    async transition(
      id: string,
      action: LifecycleAction,
      actor: Actor,
      opts: { reason?: string; tenant?: string } = {},
    ) {
      const prior = await load(id, opts.tenant);
      const status = nextStatus(prior.status, action, actor.role);
      if (action === 'reject' && !opts.reason) {
        throw new AppError('VALIDATION_FAILED', 'a rejection needs a reason', {
          details: { errors: [{ path: 'body.reason', message: 'required' }] },
        });
      }
      const { version, ...body } = prior;
      const c: Campaign = { ...body, status };
      if (action === 'reject') c.rejectReason = opts.reason;
      if (action === 'approve') {
        c.approvedBy = actor.id;
        delete c.rejectReason;
      }
      if (action === 'finish') c.finishReason = opts.reason ?? 'manual';
      return save(c, version, actor);
    },
    /** Renders the campaign's message (or a follow-up step) for one of its stores and a language. */
    async preview(
      id: string,
      opts: { fenceId?: string; language?: string; step?: number; tenant?: string },
    ): Promise<Preview> {
      const c = await load(id, opts.tenant);
      const fence = opts.fenceId ? deps.fences.get(opts.fenceId) : undefined;
      if (opts.fenceId && (!fence || fence.tenant !== c.tenant)) {
        throw new AppError('GEOFENCE_NOT_FOUND', `no geofence ${opts.fenceId} in this campaign's tenant`);
      }
      const step = opts.step ?? 0;
      if (step > c.followUps.length)
        throw new AppError('CAMPAIGN_INVALID', `the campaign has ${c.followUps.length} follow-ups`);
      const lang = opts.language ?? '';
      const src = step === 0 ? c.message : c.followUps[step - 1];
      const template = src.variants[lang] ?? src.template;
      const text = renderTemplate(compileTemplate(template), sampleValues(c, fence));
      const m = deps.measure(text);
      return {
        text,
        encoding: m.encoding,
        parts: m.parts,
        chars: m.chars ?? text.length,
        fenceId: fence?.id ?? '',
        language: lang,
      };
    },
    async getPolicy(): Promise<Policy & { version: number }> {
      const d = await deps.policy.get(POLICY_ID);
      if (!d || d.deleted) return { ...DEFAULT_POLICY, version: 0 };
      return { ...policySchema.parse(d.body), version: d.version };
    },
    async putPolicy(input: unknown, expectedVersion: number | undefined, actor: Actor) {
      const r = policySchema.safeParse(input);
      if (!r.success) {
        const errors = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        throw new AppError('POLICY_INVALID', errors.map((e) => `${e.path}: ${e.message}`).join('; '), {
          details: { errors },
        });
      }
      const current = await deps.policy.get(POLICY_ID);
      const version = await deps.policy.put(POLICY_ID, '', r.data, {
        expectedVersion: expectedVersion ?? current?.version ?? 0,
        actor: actor.id,
      });
      changed('policy');
      return { ...r.data, version };
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;
