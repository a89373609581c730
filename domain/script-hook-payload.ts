/**
 * How a script host hook receives the hook payload (docs/behaviour.md#hook-payload): the same JSON as Lambda
 * and Azure hooks, written to a temporary file before the script's own lines run, with the file's path in the
 * environment variable PATCHWAVE_HOOK_PAYLOAD_FILE. The JSON travels base64-encoded inside the command (one
 * quoted word: no shell or PowerShell quoting can break it). The script's first line stays first when it is a
 * `#!` line.
 */
export const PAYLOAD_FILE_VAR = 'PATCHWAVE_HOOK_PAYLOAD_FILE';

/**
 * Base64 characters of payload a script command carries at most. SSM documents cap a command's parameters
 * (AWS-RunShellScript's `commands` is one parameter); we keep well below any such cap, shortening the longest
 * earlier hook outputs first (payloadWithin).
 */
export const PAYLOAD_MAX_BASE64 = 32 * 1024;

/** The lines that write the payload file, for the script document of the machine's platform. */
export function payloadPrelude(platform: 'Linux' | 'Windows', base64: string): string[] {
  if (!/^[A-Za-z0-9+/=]*$/.test(base64)) throw new Error('the hook payload is not base64');
  return platform === 'Windows'
    ? [
        `$env:${PAYLOAD_FILE_VAR} = [System.IO.Path]::GetTempFileName()`,
        `[System.IO.File]::WriteAllBytes($env:${PAYLOAD_FILE_VAR}, [System.Convert]::FromBase64String('${base64}'))`,
      ]
    : [
        `${PAYLOAD_FILE_VAR}="$(mktemp)"`,
        `echo '${base64}' | base64 -d > "$${PAYLOAD_FILE_VAR}"`,
        `export ${PAYLOAD_FILE_VAR}`,
      ];
}

/** The script's lines with the prelude inserted: after a leading `#!` line, else first. */
export function withPrelude(lines: string[], prelude: string[]): string[] {
  return lines[0]?.startsWith('#!') ? [lines[0], ...prelude, ...lines.slice(1)] : [...prelude, ...lines];
}

interface Shortenable {
  hook_outputs: { output: string }[];
}

/**
 * The payload as JSON whose base64 fits PAYLOAD_MAX_BASE64: the longest earlier hook output is halved (marked
 * "…[shortened]") until it fits. Lambda and Azure hooks get the whole payload; only a command is this small.
 */
export function payloadWithin<T extends Shortenable>(
  payload: T,
  base64Length: (json: string) => number,
): string {
  const p = structuredClone(payload);
  for (let json = JSON.stringify(p); ; json = JSON.stringify(p)) {
    if (base64Length(json) <= PAYLOAD_MAX_BASE64) return json;
    const longest = p.hook_outputs.reduce<{ output: string } | undefined>(
      (a, o) => (!a || o.output.length > a.output.length ? o : a),
      undefined,
    );
    if (!longest || longest.output.length < 64)
      throw new Error(
        `the hook payload does not fit in an SSM command (${base64Length(json)} base64 characters)`,
      );
    longest.output = `${longest.output.slice(0, Math.floor(longest.output.length / 2))}…[shortened]`;
  }
}
