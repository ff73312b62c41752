// Runs the @nestjs/swagger CLI plugin inside ts-jest, with the options of nest-cli.json, so
// DTO schemas in the test-built OpenAPI document match those of `nest build`.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { before } = require('@nestjs/swagger/plugin');

const nestCli = JSON.parse(readFileSync(join(__dirname, '..', 'nest-cli.json'), 'utf8'));
const plugin = nestCli.compilerOptions.plugins.find((p) => (typeof p === 'string' ? p : p.name) === '@nestjs/swagger');
const options = typeof plugin === 'string' ? {} : plugin.options;

// ts-jest builds its transformers once, but replaces its Program as files are added; hand the
// plugin a view that always reads the current Program, or files compiled later lose their schemas.
const currentProgram = (compiler) =>
  new Proxy(
    {},
    {
      get(_target, property) {
        // The language service's Program is the one being emitted; `compiler.program` can lag behind it.
        const program = compiler._languageService?.getProgram() ?? compiler.program;
        const value = program[property];
        return typeof value === 'function' ? value.bind(program) : value;
      },
    },
  );

module.exports = {
  name: 'nestjs-swagger-plugin',
  version: '4',
  factory: (compiler) => before(options, currentProgram(compiler)),
};
