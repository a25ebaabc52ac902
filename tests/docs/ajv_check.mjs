// What a Node.js provincial server does with docs/protocol/*.json: compile each schema with Ajv (draft 2020-12) in
// strict mode, then validate instances against it. Reads {"schemas": {name: path}, "instances": [[name, value]]}
// on stdin; prints {"compile": {name: error or null}, "invalid": [[index, name, errors]]}.
// Run by tests/docs/test_schemas_strict.py; Ajv comes from tests/docs/node_modules (setup.sh --dev runs npm ci).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;

const request = JSON.parse(readFileSync(0, 'utf8'));
const compiled = {};
const out = { compile: {}, invalid: [] };
for (const [name, path] of Object.entries(request.schemas)) {
  // A fresh instance per schema: one schema's $id or error must not decide another's.
  const ajv = new Ajv2020({ strict: true, allErrors: true, logger: false });
  try {
    compiled[name] = ajv.compile(JSON.parse(readFileSync(path, 'utf8')));
    out.compile[name] = null;
  } catch (err) {
    out.compile[name] = String(err.message || err);
  }
}
request.instances.forEach(([name, value], index) => {
  const validate = compiled[name];
  if (validate && !validate(value)) {
    out.invalid.push([index, name, validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`)]);
  }
});
console.log(JSON.stringify(out));
