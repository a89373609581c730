/**
 * The little of a script the lab's simulated machines "run": a base64 literal decoded into the file named by a
 * variable, and that file printed. Enough for a machine to show what a script command would have read, e.g.
 * the hook payload Patchwave writes for script hooks (domain/script-hook-payload.ts), in its output and in
 * `GET /_lab/machines/:id/commands` (`script_files`). Anything else in a script is not run: its output is the
 * machine's scripted stdout.
 */
const LINUX_WRITE = /^echo '([A-Za-z0-9+/=]*)' \| base64 -d > "\$([A-Za-z_][A-Za-z0-9_]*)"$/;
const WINDOWS_WRITE =
  /^\[System\.IO\.File\]::WriteAllBytes\(\$env:([A-Za-z_][A-Za-z0-9_]*), \[System\.Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)\)$/;
const LINUX_PRINT = /^cat "?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?$/;
const WINDOWS_PRINT = /^Get-Content (?:-Raw )?(?:-Path )?\$env:([A-Za-z_][A-Za-z0-9_]*)$/;

export function isScriptDocument(documentName: string): boolean {
  return documentName === 'AWS-RunShellScript' || documentName === 'AWS-RunPowerShellScript';
}

/** The files a script's lines write, by the variable holding their path. */
export function scriptFiles(documentName: string, commands: readonly string[]): Record<string, string> {
  const files: Record<string, string> = {};
  if (!isScriptDocument(documentName)) return files;
  for (const raw of commands) {
    const line = raw.trim();
    const l = LINUX_WRITE.exec(line);
    if (l) files[l[2]] = Buffer.from(l[1], 'base64').toString('utf8');
    const w = WINDOWS_WRITE.exec(line);
    if (w) files[w[1]] = Buffer.from(w[2], 'base64').toString('utf8');
  }
  return files;
}

/** What the script prints by reading those files (`cat "$VAR"` / `Get-Content $env:VAR`), in order. */
export function scriptPrints(documentName: string, commands: readonly string[]): string {
  if (!isScriptDocument(documentName)) return '';
  const files = scriptFiles(documentName, commands);
  let out = '';
  for (const raw of commands) {
    const line = raw.trim();
    const m = LINUX_PRINT.exec(line) ?? WINDOWS_PRINT.exec(line);
    if (m && files[m[1]] !== undefined) out += files[m[1]].endsWith('\n') ? files[m[1]] : `${files[m[1]]}\n`;
  }
  return out;
}
