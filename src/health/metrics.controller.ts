import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators.js';
import { AppMetrics } from '../metrics/app-metrics.js';

/**
 * The app's metrics in the Prometheus text format, for scraping. Like the probes it is outside
 * `/api/v1`; restrict it at the load balancer if it must not be public.
 */
@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: AppMetrics) {}

  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'HTTP request durations by route and status, DynamoDB call durations and consumed capacity by operation, ' +
      'Node.js process figures, and the stream worker figures in a process that runs it.',
  })
  @ApiProduces('text/plain')
  @ApiResponse({
    status: 200,
    description: 'Prometheus text format 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.render();
    res.status(200).type(this.metrics.contentType).send(body);
  }
}
