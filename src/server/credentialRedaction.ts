// Removes the values of credential metadata (session token, admin secret) from text grpc-js writes to its log.
import { ADMIN_SECRET_HEADER, AUTHORIZATION_HEADER } from "./auth";

/** Metadata keys whose values are credentials; grpc-js tracing prints them with every request. */
export const CREDENTIAL_KEYS: readonly string[] = [AUTHORIZATION_HEADER, ADMIN_SECRET_HEADER];

export const REDACTED = "<redacted>";

/**
 * A credential key written as grpc-js writes metadata: JSON (`"authorization":["Bearer x"]`, from
 * server-interceptors' `received headers` dump of Metadata.toJSON()) or `key: value` (subchannel-call's
 * header dumps, metadata's "Failed to add metadata entry key: value" error). The key stands alone:
 * nothing name-like directly before it.
 */
const KEYED = new RegExp(`(?<![\\w-])(${CREDENTIAL_KEYS.map(escapeRegExp).join("|")})("?)(\\s*[:=]\\s*)`, "gi");

/** An unkeyed bearer credential, in case some line prints a header value without its key. */
const BEARER = /\bBearer(\s+)(?:"(?:[^"\\]|\\.)*"?|\S+)/gi;

/**
 * Replaces the whole value of every credential key in `text`, wherever it ends as grpc-js delimits it:
 * a JSON value (a string or an array of strings, escapes honoured, so spaces, quotes, commas and
 * brackets inside a value stay inside it) or, in `key: value` form, the rest of the line. A value
 * that does not end where it should (a line cut short) is redacted to the end of the text.
 */
export function redactCredentials(text: string): string {
  let out = "";
  let from = 0;
  KEYED.lastIndex = 0;
  for (let match = KEYED.exec(text); match !== null; match = KEYED.exec(text)) {
    if (match.index < from) continue;
    const valueStart = match.index + match[0].length;
    // A quoted key is JSON, and so is its value; after a bare key the value is raw text to the end of the line.
    const jsonEnd = match[2] === '"' ? endOfJsonValue(text, valueStart) : undefined;
    let valueEnd: number;
    let replacement: string;
    if (jsonEnd !== undefined) {
      valueEnd = jsonEnd;
      replacement = text[valueStart] === "[" ? `["${REDACTED}"]` : `"${REDACTED}"`;
    } else {
      const newline = text.indexOf("\n", valueStart);
      valueEnd = newline === -1 ? text.length : newline;
      replacement = REDACTED;
    }
    out += text.slice(from, valueStart) + replacement;
    from = valueEnd;
    KEYED.lastIndex = Math.max(valueEnd, valueStart + 1);
  }
  out += text.slice(from);
  return out.replace(BEARER, `Bearer$1${REDACTED}`);
}

/**
 * Where the JSON string or array of strings starting at `start` ends (exclusive); the end of the text if
 * it never closes, undefined if no JSON value starts there (the caller then takes the rest of the line).
 */
function endOfJsonValue(text: string, start: number): number | undefined {
  const first = text[start];
  if (first === '"') return endOfJsonString(text, start);
  if (first !== "[") return undefined;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i = endOfJsonString(text, i) - 1;
    } else if (c === "[" || c === "{") {
      depth += 1;
    } else if (c === "]" || c === "}") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** The index just past the closing quote of the JSON string opening at `start`, or the end of the text. */
function endOfJsonString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i += 1;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
