// Reads an OpenAPI document (JSON) on stdin and prints its TypeScript types (openapi-typescript).
// A plain CommonJS file run by `node` on its own: openapi-typescript pulls in ES-module-only packages, which
// Node loads natively but jest's module system does not (scripts/console-api-types.ts spawns this).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS on purpose (above)
const { default: openapiTS, astToString } = require('openapi-typescript');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  try {
    const ast = await openapiTS(JSON.parse(input), { alphabetize: true });
    process.stdout.write(astToString(ast));
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
});
