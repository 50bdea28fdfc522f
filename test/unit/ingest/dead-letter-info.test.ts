import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { deadLetterInfo } from '../../../src/ingest/kafka-source.ts';

const message = (offset: string, headers?: KafkaMessage['headers']): KafkaMessage =>
  ({
    key: null,
    value: Buffer.from('x'),
    offset,
    timestamp: '0',
    attributes: 0,
    size: 1,
    headers,
  }) as KafkaMessage;

test('dead-letter info gives back each message’s offset string and its headers, as the messages had them', () => {
  const messages = [
    message('0', {}),
    message('7', { trace: Buffer.from('a') }),
    message('8'),
    message('4503599627370497', { a: 'b', c: ['d', 'e'] }),
    message('9007199254740991', {}),
  ];
  const info = deadLetterInfo(messages);
  for (let i = 0; i < messages.length; i++) {
    assert.equal(info.offset(i), messages[i].offset, `offset ${i}`);
    const h = messages[i].headers;
    assert.equal(
      info.headers(i),
      h !== undefined && Object.keys(h).length > 0 ? h : undefined,
      `headers ${i}`,
    );
  }
});

test('offsets past 2^53 (not exact as doubles) are kept as strings, digit for digit', () => {
  const messages = [message('9007199254740992'), message('9007199254740993'), message('9223372036854775806')];
  const info = deadLetterInfo(messages);
  assert.deepEqual(
    messages.map((_, i) => info.offset(i)),
    ['9007199254740992', '9007199254740993', '9223372036854775806'],
  );
});

test('an empty batch has no offsets to give', () => {
  const info = deadLetterInfo([]);
  assert.equal(info.headers(0), undefined);
});
