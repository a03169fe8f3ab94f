import { Injectable, ParseUUIDPipe, type ArgumentMetadata } from '@nestjs/common';

/**
 * A UUID path parameter, lower-cased: ids are compared as strings in events,
 * idempotency checks and fan-out, so one spelling must reach the services.
 */
@Injectable()
export class UuidParamPipe extends ParseUUIDPipe {
  async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    const id = await super.transform(value, metadata);
    return String(id).toLowerCase();
  }
}
