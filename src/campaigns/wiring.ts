import type { ConsentEngine, ReplyAttribution } from '../consent/index.ts';
import type { CampaignService } from './campaign-service.ts';
import type { DecisionEngine } from './engine.ts';
import type { FollowUpScheduler } from './followups.ts';
import type { Policy } from './schema.ts';

/** Applies the global policy to the engine and to consent (blocklist for canSend, brand-decline days). */
export function applyPolicy(policy: Policy, deps: { engine: DecisionEngine; consent: ConsentEngine }): void {
  deps.engine.setPolicy(policy);
  deps.consent.setBlocklist(policy.blocklist);
  deps.consent.setBrandDeclineDays(policy.brandDeclineDays);
}

/** Attributes a reply to the campaign that last sent to the subscriber (for decline words and reports). */
export function replyAttribution(engine: DecisionEngine): (sid: string) => ReplyAttribution | undefined {
  return (sid) => {
    const c = engine.lastSent(sid);
    if (!c) return undefined;
    return {
      campaignId: c.id,
      tenant: c.tenant,
      storeId: '',
      declineWord: c.declineWord,
      brandName: c.tenant,
    };
  };
}

/**
 * Finishes campaigns whose end date passed or whose budget is spent, and cancels their follow-ups.
 * Call every minute or so; returns the ids finished.
 */
export async function finishDueCampaigns(deps: {
  engine: DecisionEngine;
  campaigns: Pick<CampaignService, 'transition'>;
  followUps: FollowUpScheduler;
  nowMs: number;
}): Promise<string[]> {
  const done: string[] = [];
  for (const { id, reason } of deps.engine.finished(deps.nowMs)) {
    await deps.campaigns.transition(id, 'finish', { id: 'system', role: 'admin' }, { reason });
    deps.followUps.cancelCampaign(id, 'campaign_ended', deps.nowMs);
    done.push(id);
  }
  return done;
}
