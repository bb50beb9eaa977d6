// Types of patchsync.js, the patchsync client for browsers and Node 20+.

/** A JSON value as the server sends it. */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** One RFC 6902 operation. */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: JSONValue;
}

/** An action: a Todo action (`Add`, `ChangeName`, `Update`, `Remove`, `RemoveCompleted`) or a raw `Patch`. */
export interface Action {
  type: string;
  /** Added (random) when missing; a string or an integer. */
  id?: string | number;
  [member: string]: unknown;
}

/** One change of the document, in version order. */
export interface Change {
  /** The version after the change. */
  version: number;
  /** The operations that made it (after a Full that replaced the state: one `replace` of ""). */
  ops: PatchOperation[];
  /** The live state: later changes edit it in place; copy it to keep it. */
  state: any;
}

/** A session that said Hello. */
export interface PresenceEntry {
  session: number;
  name: string | null;
  client: string | null;
  since: number;
  role: 'editor' | 'viewer';
  focus: string | null;
  [member: string]: unknown;
}

/** Anything with `getItem`, `setItem` and `removeItem` (sessionStorage, localStorage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ConnectOptions {
  /** Names this program for exactly-once actions: 1-64 of A-Z a-z 0-9 _ -. Random if not given. */
  client?: string;
  /** Sent as `?token=`. */
  token?: string;
  /** The WebSocket constructor: browsers use the global one; Node passes `ws`'s. */
  WebSocket?: unknown;
  /** Where unanswered actions are kept: a file path (Node) or a Storage; default memory. */
  outbox?: string | StorageLike;
  /** PEM of the CA to trust for wss:// (Node's `ws` only). */
  ca?: string | Uint8Array;
  /** Reconnect delays in ms: `initial` doubling to `max`, each between half and all of it. */
  backoff?: { initial?: number; max?: number };
  /** Where warnings go; default console. */
  logger?: { warn?(...args: unknown[]): void; error?(...args: unknown[]): void };
}

/**
 * What went wrong: `code` is an action's Error code (`invalid_index`, `forbidden`,
 * `test_failed`, `conflict`, ...), `http_401`/`http_403` (a refused upgrade, seen under Node),
 * `token_expired`, `closed`, `timeout`.
 */
export class PatchsyncError extends Error {
  readonly code: string;
  /** The refused action's id. */
  readonly id?: string | number;
  /** For `conflict`: the document's current version. */
  readonly version?: number;
}

export class PatchsyncDocument {
  /** The Full's state member (`todo` for the Todo list, `state` for a declared type), kept current. */
  readonly state: any;
  readonly version: number;
  readonly role: 'editor' | 'viewer' | null;
  readonly client: string;
  readonly people: PresenceEntry[];
  /** Actions sent and not answered yet. */
  readonly pending: number;
  /** Resolves with the Ack's version; rejects with a PatchsyncError. */
  send(action: Action): Promise<number>;
  patch(ops: PatchOperation[], options?: { base?: number; id?: string | number }): Promise<number>;
  /** Every change from now on, own writes included; returns the unsubscribe function. */
  subscribe(callback: (change: Change) => void): () => void;
  waitFor(predicate: (state: any) => boolean, options?: { timeout?: number }): Promise<any>;
  hello(name?: string): void;
  focus(pointer: string | null): void;
  close(): Promise<void>;
}

export function connect(url: string, options?: ConnectOptions): Promise<PatchsyncDocument>;

// The building blocks the page of patchsync uses.

export class JsonPatchError extends Error {
  readonly code: string;
  readonly opIndex?: number;
}
export function parsePointer(pointer: string): string[];
export function escapeToken(token: string): string;
export function cloneJSON<T>(value: T): T;
export function jsonEqual(a: unknown, b: unknown): boolean;
export function getByPointer(doc: unknown, pointer: string): unknown;
export function applyPatch(doc: unknown, patch: PatchOperation[]): any;
export function applyPatchInPlace(doc: unknown, patch: PatchOperation[]): any;

export function backoffDelay(attempt: number, options?: { initial?: number; max?: number }, random?: () => number): number;
export type ConnectionStatus = 'connecting' | 'connected' | 'offline';
export class Connection {
  constructor(options: {
    url: (since: number | null) => string;
    resumeVersion: () => number | null;
    onMessage: (message: unknown) => void;
    onStatus: (status: ConnectionStatus, detail: { retryAt?: number }) => void;
    onLost?: () => void;
    onRefused?: (event: { code?: number; reason?: string; status?: number }) => boolean;
    WebSocket?: unknown;
    socketOptions?: object;
    backoff?: { initial?: number; max?: number };
  });
  readonly isOpen: boolean;
  start(): void;
  send(message: unknown): boolean;
  reconnectNow(): void;
  stop(): void;
  retrySoon(): void;
}

export function randomId(crypto?: Crypto): string;
export const RETRYABLE: Set<string>;
export class Outbox {
  constructor(options: { storage: StorageLike | null; key: string });
  actions: Action[];
  queued: Record<string, unknown>;
  readonly size: number;
  add(action: Action): void;
  holds(id: unknown): boolean;
  retryLater(message: { id?: unknown; code?: string }): boolean;
  takeRetries(): Action[];
  settle(id: unknown): boolean;
  setQueued(values: Record<string, unknown>): void;
  clear(): void;
}
export function memoryStorage(): StorageLike;
export function fileStorage(path: string): Promise<StorageLike>;

export class ClientCore {
  constructor(options: { outbox: Outbox; client: string });
  readonly state: any;
  readonly version: number | null;
}
