import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../identity/auth.decorators.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { METRICS_SCHEME } from '../openapi/openapi-document.js';

/**
 * The app's metrics in the Prometheus text format, for scraping. Like the probes it is outside
 * `/api/v1`. It takes no user token (hence `@Public()`): `metricsAccess` checks `METRICS_TOKEN`
 * in front of it, and without one configured the route does not exist (404).
 */
@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: AppMetrics) {}

  @Get()
  @ApiSecurity(METRICS_SCHEME)
  @ApiProblemResponses(401, 404)
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
