import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { FollowUpScheduler } from './followups.ts';
import type { PromoCodes, PromoIssue } from './promo-codes.ts';

export interface ConversionInput {
  promoCode?: string;
  sid?: string;
  campaignId?: string;
  value?: number;
  currency?: string;
  storeId?: string;
  tsMs?: number;
  source?: 'pos' | 'api' | 'import';
}

export interface ConversionResult {
  conversionId: string;
  campaignId: string;
  tenant: string;
  /** Follow-up steps cancelled by this conversion. */
  cancelledFollowUps: number;
}

/**
 * Records conversions (by promo code, or by sid + campaign) and cancels the follow-ups they make
 * unnecessary. Codes older than the in-memory window are looked up in the store.
 */
export function createConversions(deps: {
  promoCodes: PromoCodes;
  followUps: FollowUpScheduler;
  sink: { write(table: 'conversions', row: Record<string, unknown>): void | Promise<void> };
  /** Owner tenant of a campaign (undefined = unknown campaign). */
  tenantOf(campaignId: string): string | undefined;
  /** Store lookup for codes no longer held in memory. */
  findCode?: (code: string) => Promise<PromoIssue | undefined>;
  clock: () => number;
}) {
  return {
    /** `tenant` confines a retailer to its own codes and campaigns (others answer NOT_FOUND). */
    async record(input: ConversionInput, tenant: string | undefined): Promise<ConversionResult> {
      let sid = input.sid ?? '';
      let campaignId = input.campaignId ?? '';
      let storeId = input.storeId ?? '';
      let owner: string | undefined;
      const code = input.promoCode?.trim().toUpperCase();
      if (code) {
        const issue = deps.promoCodes.lookup(code) ?? (await deps.findCode?.(code));
        if (!issue || (tenant !== undefined && issue.tenant !== tenant)) {
          throw new AppError('NOT_FOUND', `no promo code ${code}`);
        }
        sid = issue.sid;
        campaignId = issue.campaignId;
        storeId ||= issue.storeId;
        owner = issue.tenant;
      } else {
        if (!sid || !campaignId) {
          throw new AppError('VALIDATION_FAILED', 'a conversion needs promoCode, or sid and campaignId', {
            details: { errors: [{ path: 'body', message: 'promoCode, or sid and campaignId' }] },
          });
        }
        owner = deps.tenantOf(campaignId);
        if (!owner || (tenant !== undefined && owner !== tenant)) {
          throw new AppError('CAMPAIGN_NOT_FOUND', `no campaign ${campaignId}`);
        }
      }
      const nowMs = deps.clock();
      const conversionId = randomUUID();
      await deps.sink.write('conversions', {
        ts: input.tsMs ?? nowMs,
        conversion_id: conversionId,
        tenant: owner,
        campaign_id: campaignId,
        store_id: storeId,
        sid,
        promo_code: code ?? '',
        value: input.value ?? 0,
        currency: input.currency ?? '',
        source: input.source ?? 'api',
      });
      const cancelledFollowUps = sid ? deps.followUps.cancel({ sid, campaignId }, 'converted', nowMs) : 0;
      return { conversionId, campaignId, tenant: owner, cancelledFollowUps };
    },
  };
}

export type Conversions = ReturnType<typeof createConversions>;
