import type { Decision, DecisionEngine, FollowUpStep, SendOrder } from './engine.ts';

/** Where follow-up rows go (the store's writer in production). */
export interface FollowUpSink {
  write(table: 'followups', row: Record<string, unknown>): void | Promise<void>;
}

export interface FollowUpScheduler {
  /** After a send: schedules the campaign's next step (if any) relative to the send time. */
  afterSend(order: SendOrder, nowMs: number): void;
  /** Cancels pending steps of sid (optionally one campaign or one tenant's campaigns). */
  cancel(
    filter: { sid: string; campaignId?: string; tenant?: string },
    reason: string,
    nowMs: number,
  ): number;
  cancelCampaign(campaignId: string, reason: string, nowMs: number): number;
  /** Fires every step due at nowMs; decisions (sent or suppressed) are appended to `out`. */
  fireDue(nowMs: number, out: Decision[]): number;
  /** Pending steps loaded from the store at start-up. */
  load(steps: Iterable<FollowUpStep>): void;
  pendingFor(sid: string): FollowUpStep[];
  readonly pending: number;
}

/**
 * Follow-up chains: pending steps in a min-heap by due time, every change also written as a
 * `followups` row so a restart resumes them. A step due in quiet hours (or outside the campaign's
 * hours) moves to the next allowed minute; conversions, opt-outs and the campaign's end cancel it.
 */
export function createFollowUpScheduler(opts: {
  engine: DecisionEngine;
  sink?: FollowUpSink;
}): FollowUpScheduler {
  const { engine } = opts;
  const steps = new Map<string, FollowUpStep>();
  const bySid = new Map<string, Set<string>>();
  // Heap of [dueMs, id]; entries whose step was cancelled or moved are skipped when popped.
  const heap: { due: number; id: string }[] = [];

  const push = (due: number, id: string) => {
    heap.push({ due, id });
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p].due <= heap[i].due) break;
      [heap[p], heap[i]] = [heap[i], heap[p]];
      i = p;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l].due < heap[m].due) m = l;
        if (r < heap.length && heap[r].due < heap[m].due) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };

  const write = (
    s: FollowUpStep,
    status: 'pending' | 'sent' | 'cancelled',
    reason: string,
    nowMs: number,
  ) => {
    void opts.sink?.write('followups', {
      id: s.id,
      sid: s.sid,
      tenant: s.tenant,
      campaign_id: s.campaignId,
      fence_id: s.fenceId,
      store_id: s.storeId,
      step: s.step,
      origin_key: s.originKey,
      due_at: s.dueMs,
      status,
      reason,
      updated_at: nowMs,
    });
  };

  const add = (s: FollowUpStep) => {
    steps.set(s.id, s);
    let set = bySid.get(s.sid);
    if (!set) {
      set = new Set();
      bySid.set(s.sid, set);
    }
    set.add(s.id);
    push(s.dueMs, s.id);
  };
  const drop = (s: FollowUpStep) => {
    steps.delete(s.id);
    const set = bySid.get(s.sid);
    set?.delete(s.id);
    if (set && set.size === 0) bySid.delete(s.sid);
  };

  const scheduleNext = (
    origin: {
      sid: string;
      campaignId: string;
      tenant: string;
      fenceId: string;
      storeId: string;
      originKey: string;
    },
    step: number,
    fromMs: number,
    nowMs: number,
  ) => {
    const c = engine.campaign(origin.campaignId);
    if (!c || step > c.followUps.length) return;
    const s: FollowUpStep = {
      ...origin,
      id: `${origin.originKey}#${step}`,
      step,
      dueMs: fromMs + c.followUps[step - 1].afterMs,
    };
    add(s);
    write(s, 'pending', '', nowMs);
  };

  const scheduler: FollowUpScheduler = {
    afterSend(order, nowMs) {
      const originKey =
        order.step === 0 ? order.idempotencyKey : order.idempotencyKey.replace(/\|followup-\d+$/, '');
      scheduleNext(
        {
          sid: order.sid,
          campaignId: order.campaignId,
          tenant: order.tenant,
          fenceId: order.fenceId,
          storeId: order.storeId,
          originKey,
        },
        order.step + 1,
        nowMs,
        nowMs,
      );
    },
    cancel(filter, reason, nowMs) {
      const ids = bySid.get(filter.sid);
      if (!ids) return 0;
      let n = 0;
      for (const id of [...ids]) {
        const s = steps.get(id)!;
        if (filter.campaignId !== undefined && s.campaignId !== filter.campaignId) continue;
        if (filter.tenant !== undefined && s.tenant !== filter.tenant) continue;
        drop(s);
        write(s, 'cancelled', reason, nowMs);
        n++;
      }
      return n;
    },
    cancelCampaign(campaignId, reason, nowMs) {
      let n = 0;
      for (const s of [...steps.values()]) {
        if (s.campaignId !== campaignId) continue;
        drop(s);
        write(s, 'cancelled', reason, nowMs);
        n++;
      }
      return n;
    },
    fireDue(nowMs, out) {
      let produced = 0;
      while (heap.length > 0 && heap[0].due <= nowMs) {
        const { due, id } = pop();
        const s = steps.get(id);
        if (!s || s.dueMs !== due) continue;
        const r = engine.decideFollowUp(s, nowMs);
        if (r.action === 'wait') {
          s.dueMs = r.untilMs;
          push(s.dueMs, s.id);
          write(s, 'pending', '', nowMs);
          continue;
        }
        drop(s);
        if (r.action === 'cancel') {
          write(s, 'cancelled', r.reason, nowMs);
          if (r.decision) {
            out.push(r.decision);
            produced++;
          }
          continue;
        }
        write(s, 'sent', '', nowMs);
        out.push(r.decision);
        produced++;
        scheduleNext(s, s.step + 1, nowMs, nowMs);
      }
      return produced;
    },
    load(list) {
      for (const s of list) add({ ...s });
    },
    pendingFor: (sid) => [...(bySid.get(sid) ?? [])].map((id) => steps.get(id)!),
    get pending() {
      return steps.size;
    },
  };
  return scheduler;
}
