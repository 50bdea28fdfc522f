export {
  parseSmppAccounts,
  type SmppAccount,
  type SmppAccountInput,
  smppAccount,
  smppAccountSchema,
} from './account-config.ts';
export { COMMAND_STATUS, classifyStatus, type StatusAction } from './command-status.ts';
export { createDirectory, type Directory, loadDirectoryFile, normaliseMsisdn } from './directory.ts';
export { classifyMo } from './mo.ts';
export { type Outbox, type OutboxRow, type OutboxTracked, openOutbox } from './outbox.ts';
export { type MessageState, normaliseSmscId, parseReceiptText, type Receipt } from './receipt.ts';
export { encodeSms, measureSms, type SmsEncoding, type SmsMeasure, splitText } from './segmentation.ts';
export { createSmppSender, type SmppSenderOptions } from './sender.ts';
export {
  createSmscSimulator,
  type SimulatorFaults,
  type SmscSimulator,
  type SmscSimulatorOptions,
} from './simulator/smsc-simulator.ts';
export { storeDeliverySink } from './store-sink.ts';
export type {
  DeliverySink,
  MoHandlers,
  MoMessage,
  OutboundSms,
  Sender,
  SenderStatus,
  SendResult,
  SendStatus,
} from './types.ts';
export { eventKey } from './types.ts';
