import { listeningLine } from './listen.js';

describe('listeningLine', () => {
  it('points at Swagger UI and the OpenAPI JSON only when they are served (API_DOCS; off in production)', () => {
    expect(listeningLine('http://localhost:3000', true)).toBe(
      'API on http://localhost:3000/api/v1, Swagger UI on http://localhost:3000/docs, OpenAPI JSON on http://localhost:3000/docs-json',
    );
    const off = listeningLine('http://localhost:3000', false);
    expect(off).toMatch(/^API on http:\/\/localhost:3000\/api\/v1 /);
    expect(off).not.toContain('localhost:3000/docs');
    expect(off).toContain('API_DOCS=true');
  });
});
