import { z } from 'zod';
import type { ConsentEngine } from '../../consent/index.ts';
import { defineRoute, type RouteDef } from '../kit.ts';

const sidParams = z.strictObject({ sid: z.string().regex(/^[A-Za-z0-9_.:=+/-]{1,64}$/) });
const record = z.strictObject({
  source: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .describe('Where consent came from: web form, shop, call centre, ...'),
  evidence: z
    .string()
    .trim()
    .min(1)
    .max(4000)
    .describe('Proof: form id, recording reference, signed text, ...'),
});

/** Marketing consent: explicit opt-in with evidence, opt-out effective immediately. */
export function consentRoutes(deps: { consent: ConsentEngine; clock: () => number }): RouteDef[] {
  const state = z.object({
    status: z.enum(['opt_in', 'opt_out', 'none']),
    tsMs: z.number(),
    declines: z.array(z.object({ tenant: z.string(), untilMs: z.number() })),
  });
  return [
    defineRoute({
      method: 'get',
      path: '/v1/consent/:sid',
      summary: "A subscriber's marketing consent and brand declines",
      tag: 'consent',
      roles: ['analyst'],
      params: sidParams,
      response: state,
      handler: ({ params }) => deps.consent.get(params.sid),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/consent/:sid/opt-in',
      summary: 'Record an explicit marketing opt-in (source and evidence required)',
      tag: 'consent',
      roles: ['analyst'],
      params: sidParams,
      body: record,
      response: state,
      handler: ({ params, body }) => {
        deps.consent.optIn(params.sid, body, deps.clock());
        return deps.consent.get(params.sid);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/consent/:sid/opt-out',
      summary: 'Record an opt-out; effective immediately, also for messages already queued',
      tag: 'consent',
      roles: ['analyst'],
      params: sidParams,
      body: record,
      response: state,
      handler: ({ params, body }) => {
        deps.consent.optOut(params.sid, body, deps.clock());
        return deps.consent.get(params.sid);
      },
    }),
  ];
}
