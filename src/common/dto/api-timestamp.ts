import { ApiProperty } from '@nestjs/swagger';

/**
 * An ISO 8601 instant (`2026-11-25T22:46:50.123Z`) in a DTO: `format: date-time` in the OpenAPI
 * document, which the Swagger plugin cannot infer from a `string` property. Whether it is
 * required still comes from the property's `?`, as the plugin reads it.
 */
export const ApiTimestamp = () => ApiProperty({ format: 'date-time' });
