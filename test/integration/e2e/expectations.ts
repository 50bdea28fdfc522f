// The checks a walk-in run must pass, shared by the simulator and the Net::SMPP runs: what every
// subscriber should have got at the SMSC, what the decisions say, and that the store's rows and the
// campaign report add up.
import assert from 'node:assert/strict';
import { byDestination, type SmscMessage } from './smsc-view.ts';
import type { StoreView } from './store-view.ts';
import { type DemoSubscriber, expectedText, isGsm7, SENDER_ID, type Store, ucs2Parts } from './world.ts';

export interface Walker {
  sub: DemoSubscriber;
  store: Store;
}

export interface WalkInOutcome {
  sent: number;
  holdout: number;
  suppressed: number;
  parts: number;
  campaignId: string;
}

/**
 * Checks one walk-in run: `walkers` entered a store once each, `bystanders` only pinged far away.
 * Returns the tallies so callers can compare them with reports.
 */
export function checkWalkIn(opts: {
  walkers: readonly Walker[];
  bystanders: readonly DemoSubscriber[];
  smsc: readonly SmscMessage[];
  view: StoreView;
  /** Receipts are expected for every message (the SMSC sends them). */
  receipts: boolean;
}): WalkInOutcome {
  const { walkers, view } = opts;
  const decisionsBySid = new Map<string, typeof view.decisions>();
  for (const d of view.decisions) {
    const list = decisionsBySid.get(d.sid) ?? [];
    list.push(d);
    decisionsBySid.set(d.sid, list);
  }
  const smscByNumber = byDestination(opts.smsc);
  const messageById = new Map(view.messages.map((m) => [m.message_id, m]));
  const eventsById = new Map<string, string[]>();
  for (const e of view.events)
    eventsById.set(e.message_id, [...(eventsById.get(e.message_id) ?? []), e.event]);
  const campaignIds = new Set(view.decisions.map((d) => d.campaign_id));
  assert.equal(campaignIds.size, 1, `decisions of one campaign, got ${[...campaignIds]}`);
  const campaignId = [...campaignIds][0];

  const tally = { sent: 0, holdout: 0, suppressed: 0, parts: 0 };
  const seen = { notInSegment: 0, optedOut: 0, uk: 0, other: 0 };
  for (const { sub, store } of walkers) {
    const who = `subscriber ${sub.i} (segment ${sub.inSegment}, opted out ${sub.optedOut}) at ${store.fenceId}`;
    const ds = decisionsBySid.get(sub.sid) ?? [];
    assert.equal(ds.length, 1, `${who}: one decision for one enter, got ${ds.length}`);
    const d = ds[0];
    assert.deepEqual(
      [d.trigger, d.fence_id, d.store_id],
      ['enter', store.fenceId, store.storeId],
      `${who}: decided on entering the store`,
    );
    const got = smscByNumber.get(sub.msisdn) ?? [];
    if (!sub.inSegment) {
      assert.deepEqual([d.outcome, d.reason], ['suppressed', 'not_in_segment'], who);
      seen.notInSegment++;
    } else if (sub.optedOut) {
      assert.deepEqual([d.outcome, d.reason], ['suppressed', 'opted_out'], who);
      seen.optedOut++;
    } else {
      assert.ok(
        d.outcome === 'sent' || d.outcome === 'holdout',
        `${who}: sent or held out, got ${d.outcome}`,
      );
      assert.equal(d.reason, '', who);
    }
    tally[d.outcome as 'sent' | 'holdout' | 'suppressed']++;
    if (d.outcome !== 'sent') {
      assert.equal(got.length, 0, `${who}: ${d.outcome} (${d.reason}) yet got ${got.length} SMS`);
      continue;
    }

    // The one SMS: the right number, sender, text, encoding and parts.
    assert.equal(got.length, 1, `${who}: exactly one SMS, got ${got.length}`);
    const sms = got[0];
    assert.ok(sms.complete, `${who}: every part of the SMS arrived once (${sms.parts.length}/${sms.total})`);
    const m = expectedText(sub, store).exec(sms.text);
    assert.ok(m, `${who}: text ${JSON.stringify(sms.text)} is the campaign's (language ${sub.language})`);
    if (sub.language === 'uk') seen.uk++;
    else seen.other++;
    assert.equal(view.promoCodes.get(d.message_id), m[1], `${who}: the promo code in the text was issued`);
    const gsm = isGsm7(sms.text);
    assert.deepEqual(sms.dataCodings, [gsm ? 0 : 8], `${who}: data_coding ${gsm ? 'GSM-7' : 'UCS-2'}`);
    if (!gsm)
      assert.equal(sms.total, ucs2Parts(sms.text), `${who}: parts for ${sms.text.length} UCS-2 chars`);
    for (const p of sms.parts) {
      assert.equal((p.esmClass & 0x40) !== 0, sms.total > 1, `${who}: UDH indicator iff concatenated`);
      assert.equal(p.registeredDelivery & 0x01, 1, `${who}: receipt requested`);
    }
    assert.deepEqual([sms.source, sms.sourceTon], [SENDER_ID, 5], `${who}: alphanumeric sender ID`);
    assert.equal(d.parts, sms.total, `${who}: decision's parts`);
    tally.parts += sms.total;

    // Its rows: the message, its submit event and (with receipts) its delivery.
    const row = messageById.get(d.message_id);
    assert.ok(row, `${who}: messages row for ${d.message_id}`);
    assert.equal(row.sid, sub.sid);
    assert.equal(row.parts, sms.total);
    assert.match(row.encoding, gsm ? /GSM/ : /UCS-?2/);
    const evs = eventsById.get(d.message_id) ?? [];
    assert.ok(evs.includes('submitted'), `${who}: submitted event (${evs})`);
    if (opts.receipts) {
      assert.equal(row.status, 'delivered', `${who}: message status (events ${evs})`);
      assert.ok(evs.includes('delivered'), `${who}: delivered receipt event (${evs})`);
    }
  }

  // Nobody else heard from the service.
  const walkerNumbers = new Set(walkers.map((w) => w.sub.msisdn));
  const strays = opts.smsc.filter((s) => !walkerNumbers.has(s.destination));
  assert.equal(strays.length, 0, `${strays.length} SMS to numbers that walked into no store`);
  for (const b of opts.bystanders) {
    assert.equal(decisionsBySid.get(b.sid)?.length ?? 0, 0, `bystander ${b.i} has no decision`);
  }
  assert.equal(view.decisions.length, walkers.length, 'one decision per trigger');
  assert.equal(opts.smsc.length, tally.sent, 'one SMS per sent decision');
  assert.equal(tally.sent + tally.holdout + tally.suppressed, walkers.length, 'sent + holdout + suppressed');

  // The run exercised every path, so the checks above were not vacuous.
  assert.ok(seen.notInSegment > 0 && seen.optedOut > 0, `suppressions seen: ${JSON.stringify(seen)}`);
  assert.ok(tally.sent > 0, 'some SMS were sent');
  assert.ok(
    tally.holdout <= Math.ceil((tally.sent + tally.holdout) * 0.35),
    `holdout ${tally.holdout} of ${tally.sent + tally.holdout} eligible is far above the campaign's 10%`,
  );
  return { ...tally, campaignId };
}

/**
 * The campaign report (store rollups) agrees with the rows and the SMSC. Delivery counts there are per
 * part: one `submitted` event per accepted part, one receipt per part.
 */
export async function checkReport(view: StoreView, outcome: WalkInOutcome, triggers: number): Promise<void> {
  const f = await view.funnel(outcome.campaignId);
  assert.deepEqual(
    {
      triggers: f.triggers,
      sent: f.sent,
      holdout: f.holdout,
      suppressed: f.suppressed,
      submitted: f.submitted,
      parts: f.parts,
      delivered: f.delivered,
    },
    {
      triggers,
      sent: outcome.sent,
      holdout: outcome.holdout,
      suppressed: outcome.suppressed,
      submitted: outcome.parts,
      parts: outcome.parts,
      delivered: outcome.parts,
    },
    'campaign funnel report',
  );
  const reasons: Record<string, number> = {};
  for (const d of view.decisions)
    if (d.outcome === 'suppressed') reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
  assert.deepEqual(await view.suppressionReasons(outcome.campaignId), reasons, 'suppression reasons report');
}

/** No phone number and no pseudonym of the given subscribers appears in the service's output. */
export function checkLogsPrivate(output: readonly string[], subs: readonly DemoSubscriber[]): void {
  const text = output.join('\n');
  for (const s of subs) {
    assert.ok(!text.includes(s.msisdn), `subscriber ${s.i}'s phone number appears in the logs`);
    assert.ok(!text.includes(s.sid), `subscriber ${s.i}'s pseudonym appears in the logs unredacted`);
  }
}
