export { backoffMs } from './backoff.ts';
export { createDefinitions, type Definition, type Definitions, type ListOptions } from './definitions.ts';
export { type StoredEventId, storedEventIds } from './message-events.ts';
export { applyMigrations, loadMigrations, MIGRATIONS_DIR, type Migration } from './migrate.ts';
export {
  type ArmResult,
  type CampaignSummary,
  createReports,
  type FootfallCell,
  type FunnelMetrics,
  type Granularity,
  type ReportCell,
  type ReportRange,
  type Reports,
  type SuppressionCell,
} from './reports.ts';
export type {
  ConsentRow,
  ConversionRow,
  DecisionRow,
  FootfallVisitRow,
  MessageEvent,
  MessageEventRow,
  MessageRow,
  MessageStatus,
  MoMessageRow,
} from './rows.ts';
export { createStore } from './store.ts';
export {
  type ColumnInfo,
  DEFINITION_TABLES,
  type DefinitionTable,
  STORE_TABLES,
  type Store,
  type StoreConfig,
  type StoreTable,
  type TableName,
} from './types.ts';
export { createWriter, type Writer, type WriterOptions, type WriterStats } from './writer.ts';
