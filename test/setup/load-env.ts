import fs from 'node:fs';
import { ENV_FILE_VAR } from './shared';

/*
 * Runs in every integration test worker before its test file. Workers normally inherit the variables
 * global-setup set, but the file makes it explicit and survives runners that start workers differently.
 */
const envFile = process.env[ENV_FILE_VAR];
if (envFile && fs.existsSync(envFile)) {
  Object.assign(process.env, JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>);
}
