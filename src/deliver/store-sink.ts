import { type Store, storedEventIds, type Writer } from '../store/index.ts';
import { type DeliverySink, eventKey } from './types.ts';

/**
 * The delivery stage's rows through the store's batched writer: durable once the writer says so, and
 * rows written again after a crash checked against the message_events the store already holds (after
 * the writer's spill replay — `flush` waits for it — so spilled rows count as stored).
 */
export function storeDeliverySink(store: Store, writer: Writer): DeliverySink {
  return {
    write: (table, row) => void writer.write(table, row),
    durable: () => writer.durable(),
    eventKeys: async (ids) => {
      await writer.flush();
      return new Set((await storedEventIds(store, ids)).map(eventKey));
    },
  };
}
