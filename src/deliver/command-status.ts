/**
 * What the sender does with each SMPP command_status of a submit_sm_resp (jasmin's error classes):
 * - `ok`: accepted by the SMSC;
 * - `throttle`: the bind backs off, then retries the same part first (it was not accepted);
 * - `retry`: a transient SMSC-side failure; the part is retried later on any bind;
 * - `rebind`: the session is unusable; the bind reconnects and the part is retried;
 * - `drop`: the message is rejected for good and reported as failed.
 */
export type StatusAction = 'ok' | 'throttle' | 'retry' | 'rebind' | 'drop';

export interface StatusEntry {
  name: string;
  action: StatusAction;
}

// SMPP 3.4 §5.1.3. Anything not listed is dropped and reported (safe for at-most-once).
export const COMMAND_STATUS: ReadonlyMap<number, StatusEntry> = new Map<number, StatusEntry>([
  [0x00, { name: 'ESME_ROK', action: 'ok' }],
  [0x01, { name: 'ESME_RINVMSGLEN', action: 'drop' }],
  [0x02, { name: 'ESME_RINVCMDLEN', action: 'drop' }],
  [0x03, { name: 'ESME_RINVCMDID', action: 'drop' }],
  [0x04, { name: 'ESME_RINVBNDSTS', action: 'rebind' }],
  [0x05, { name: 'ESME_RALYBND', action: 'rebind' }],
  [0x06, { name: 'ESME_RINVPRTFLG', action: 'drop' }],
  [0x07, { name: 'ESME_RINVREGDLVFLG', action: 'drop' }],
  [0x08, { name: 'ESME_RSYSERR', action: 'retry' }],
  [0x0a, { name: 'ESME_RINVSRCADR', action: 'drop' }],
  [0x0b, { name: 'ESME_RINVDSTADR', action: 'drop' }],
  [0x0c, { name: 'ESME_RINVMSGID', action: 'drop' }],
  [0x0d, { name: 'ESME_RBINDFAIL', action: 'rebind' }],
  [0x0e, { name: 'ESME_RINVPASWD', action: 'rebind' }],
  [0x0f, { name: 'ESME_RINVSYSID', action: 'rebind' }],
  [0x11, { name: 'ESME_RCANCELFAIL', action: 'drop' }],
  [0x13, { name: 'ESME_RREPLACEFAIL', action: 'drop' }],
  [0x14, { name: 'ESME_RMSGQFUL', action: 'throttle' }],
  [0x15, { name: 'ESME_RINVSERTYP', action: 'drop' }],
  [0x33, { name: 'ESME_RINVNUMDESTS', action: 'drop' }],
  [0x34, { name: 'ESME_RINVDLNAME', action: 'drop' }],
  [0x40, { name: 'ESME_RINVDESTFLAG', action: 'drop' }],
  [0x42, { name: 'ESME_RINVSUBREP', action: 'drop' }],
  [0x43, { name: 'ESME_RINVESMCLASS', action: 'drop' }],
  [0x44, { name: 'ESME_RCNTSUBDL', action: 'drop' }],
  [0x45, { name: 'ESME_RSUBMITFAIL', action: 'retry' }],
  [0x48, { name: 'ESME_RINVSRCTON', action: 'drop' }],
  [0x49, { name: 'ESME_RINVSRCNPI', action: 'drop' }],
  [0x50, { name: 'ESME_RINVDSTTON', action: 'drop' }],
  [0x51, { name: 'ESME_RINVDSTNPI', action: 'drop' }],
  [0x53, { name: 'ESME_RINVSYSTYP', action: 'drop' }],
  [0x54, { name: 'ESME_RINVREPFLAG', action: 'drop' }],
  [0x55, { name: 'ESME_RINVNUMMSGS', action: 'drop' }],
  [0x58, { name: 'ESME_RTHROTTLED', action: 'throttle' }],
  [0x61, { name: 'ESME_RINVSCHED', action: 'drop' }],
  [0x62, { name: 'ESME_RINVEXPIRY', action: 'drop' }],
  [0x63, { name: 'ESME_RINVDFTMSGID', action: 'drop' }],
  [0x64, { name: 'ESME_RX_T_APPN', action: 'retry' }],
  [0x65, { name: 'ESME_RX_P_APPN', action: 'drop' }],
  [0x66, { name: 'ESME_RX_R_APPN', action: 'drop' }],
  [0x67, { name: 'ESME_RQUERYFAIL', action: 'drop' }],
  [0xc0, { name: 'ESME_RINVOPTPARSTREAM', action: 'drop' }],
  [0xc1, { name: 'ESME_ROPTPARNOTALLWD', action: 'drop' }],
  [0xc2, { name: 'ESME_RINVPARLEN', action: 'drop' }],
  [0xc3, { name: 'ESME_RMISSINGOPTPARAM', action: 'drop' }],
  [0xc4, { name: 'ESME_RINVOPTPARAMVAL', action: 'drop' }],
  [0xfe, { name: 'ESME_RDELIVERYFAILURE', action: 'drop' }],
  [0xff, { name: 'ESME_RUNKNOWNERR', action: 'drop' }],
]);

/** The action and name for a command_status; unknown statuses are dropped and reported. */
export function classifyStatus(status: number): StatusEntry {
  return COMMAND_STATUS.get(status) ?? { name: `0x${status.toString(16).padStart(8, '0')}`, action: 'drop' };
}
