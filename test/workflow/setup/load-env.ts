import fs from 'node:fs';
import { WF_ENV_FILE_VAR } from './shared';

/* Runs in every workflow test worker before its test file: the addresses global-setup published. */
const envFile = process.env[WF_ENV_FILE_VAR];
if (envFile && fs.existsSync(envFile)) {
  Object.assign(process.env, JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>);
}
