import type { ConsentEngine, ReplyAttribution } from '../consent/index.ts';
import type { DecisionEngine } from './engine.ts';
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
