import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { isAppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ProfileRepository } from './profile-repository.ts';
import type { ProfileStore } from './profile-store.ts';

export interface ProfileConsumerStats {
  upserted: number;
  deleted: number;
  rejected: number;
}

export interface ProfileConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ProfileConsumerStats;
}

export interface ProfileConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  profiles: ProfileStore;
  /** When given, every applied change is also written to the `subscribers` table before its offset is committed. */
  repository?: ProfileRepository;
  logger: Logger;
  /** Read the topic from the start when the group has no committed offset (default true: a profile topic is compacted state). */
  fromBeginning?: boolean;
  /** kafkajs consumer timings (tests shorten them). */
  timings?: { sessionTimeout?: number; heartbeatInterval?: number; rebalanceTimeout?: number };
}

/**
 * Applies a Kafka topic of profile updates to the profile store: key = sid, value = the whole profile as
 * JSON (replaces the stored one), a null value (tombstone) deletes. A bad message is counted and skipped;
 * offsets are committed only after the batch is applied (and persisted, with a repository).
 */
export function createProfileConsumer(options: ProfileConsumerOptions): ProfileConsumer {
  const { kafka, topic, profiles, repository } = options;
  const logger = options.logger.child({ stage: 'segments', component: 'profile-consumer' });
  const stats: ProfileConsumerStats = { upserted: 0, deleted: 0, rejected: 0 };
  let consumer: Consumer | undefined;

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const changed: string[] = [];
    let lastDone: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      lastDone = message.offset;
      const key = message.key?.toString('utf8');
      try {
        if (message.value === null) {
          if (key && profiles.delete(key)) {
            stats.deleted++;
            changed.push(key);
          }
        } else {
          const attrs = JSON.parse(message.value.toString('utf8')) as Record<string, unknown>;
          if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs))
            throw new SyntaxError('not an object');
          profiles.upsert(key ?? (attrs.sid as string), attrs);
          stats.upserted++;
          changed.push(key ?? (attrs.sid as string));
        }
      } catch (err) {
        if (!isAppError(err) && !(err instanceof SyntaxError)) throw err;
        stats.rejected++;
        logger.warn(
          { partition: batch.partition, offset: message.offset, reason: (err as Error).message },
          'profile update rejected',
        );
      }
    }
    if (repository && changed.length > 0) await repository.persist(changed);
    // only what was applied (and persisted) is committed; the rest is redelivered
    if (lastDone !== undefined) resolveOffset(lastDone);
    await heartbeat();
  };

  return {
    async start() {
      consumer = kafka.consumer({ groupId: options.groupId, ...options.timings });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({ eachBatchAutoResolve: false, eachBatch });
      logger.info({ topic }, 'consuming profile updates');
    },
    async stop() {
      await consumer?.disconnect();
      consumer = undefined;
    },
    stats: () => ({ ...stats }),
  };
}
