import { Controller, Get, Header } from '@nestjs/common';
import { ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/auth.decorators.js';
import { dynamoTotals } from '../dynamo/request-accounting.js';

/**
 * DynamoDB totals of this process in the Prometheus text format, for scraping. Like the
 * probes it is outside `/api/v1`; restrict it at the load balancer if it must not be public.
 */
@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  /** Counters of DynamoDB calls, errors, time and consumed capacity since the process started. */
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiResponse({
    status: 200,
    description: 'Prometheus text format.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  metrics(): string {
    const lines: string[] = [];
    const counter = (name: string, help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${Number(value.toFixed(6))}`);
    counter('dynamodb_calls_total', 'DynamoDB calls made by this process.', dynamoTotals.calls);
    counter('dynamodb_errors_total', 'DynamoDB calls that failed.', dynamoTotals.errors);
    counter('dynamodb_duration_seconds_total', 'Time spent in DynamoDB calls.', dynamoTotals.durationMs / 1000);
    counter('dynamodb_read_capacity_units_total', 'Read capacity consumed.', dynamoTotals.readCapacity);
    counter('dynamodb_write_capacity_units_total', 'Write capacity consumed.', dynamoTotals.writeCapacity);
    return `${lines.join('\n')}\n`;
  }
}
