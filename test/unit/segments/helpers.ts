import type { ErrorCode } from '../../../src/errors.ts';
import { isAppError } from '../../../src/errors.ts';

export * from '../../../src/segments/index.ts';

export function isAppErrorCode(err: unknown, code: ErrorCode): boolean {
  return isAppError(err, code);
}
