#!/usr/bin/env node
// Writes one 15-minute window of synthetic AutoSave telemetry for the head-to-head benchmark (perf/compare.sh).
// Usage: node perf/gen-batch.mjs EVENTS OUT.jsonl [SEED]
// Seeded (xorshift128+), so the same arguments give the same bytes. Per line, about:
//   96.5 % autosave.save.completed (duration_ms log-normal, median ~450 ms, 3 decimals), 2 % autosave.save.error
//   (retryable, error_code), 0.05 % autosave.history.drift, 0.3 % another event name (ignored by the pipeline),
//   0.5 % a repeat of an earlier event_id (the Collector drops it), 0.1 % an invalid line (rejected with its reason).
// EVENTS counts lines. Event ids are random 36-character UUID-like strings (not sorted), timestamps ascend through
// 2026-11-20T10:00Z .. 10:15Z.
import { createWriteStream } from 'node:fs';

const n = Number(process.argv[2]);
const out = process.argv[3];
let seed = BigInt(process.argv[4] ?? 42);
if (!Number.isInteger(n) || n <= 0 || !out) {
  console.error('usage: node perf/gen-batch.mjs EVENTS OUT.jsonl [SEED]');
  process.exit(2);
}

let s0 = (seed * 0x9E3779B97F4A7C15n + 1n) & 0xFFFFFFFFFFFFFFFFn, s1 = (seed ^ 0xD1B54A32D192ED03n) & 0xFFFFFFFFFFFFFFFFn;
const M = 0xFFFFFFFFFFFFFFFFn;
function next64() {
  let x = s0; const y = s1;
  s0 = y; x ^= (x << 23n) & M; s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
  return (s1 + y) & M;
}
// Fast doubles from a 32-bit xorshift seeded by the 64-bit generator (BigInt per line is too slow for 20 M lines).
let a = Number(next64() & 0xFFFFFFFFn) | 1;
function u32() { a ^= a << 13; a >>>= 0; a ^= a >>> 17; a ^= a << 5; a >>>= 0; return a; }
function rnd() { return (u32() + u32() / 4294967296) / 4294967296; }
const hex = '0123456789abcdef';
function uuid() {
  let s = '';
  for (let i = 0; i < 32; i++) {
    if (i === 8 || i === 12 || i === 16 || i === 20) s += '-';
    s += hex[u32() & 15];
  }
  return s;
}
function gauss() { return Math.sqrt(-2 * Math.log(rnd() || 1e-12)) * Math.cos(2 * Math.PI * rnd()); }

const start = Date.UTC(2026, 10, 20, 10, 0, 0);
const spanMs = 15 * 60 * 1000;
const recent = [];
const w = createWriteStream(out);
let buf = [];
let bytes = 0;
async function flush() {
  const chunk = buf.join('');
  buf = [];
  bytes = 0;
  if (!w.write(chunk)) await new Promise(r => w.once('drain', r));
}
const errorCodes = ['E_CONFLICT', 'E_TIMEOUT', 'E_QUOTA', 'E_NETWORK'];
for (let i = 0; i < n; i++) {
  const ts = new Date(start + Math.floor(i * spanMs / n)).toISOString();
  const r = rnd();
  let line;
  if (r < 0.001) {
    const k = u32() % 4;
    line = k === 0 ? `{"event_id":"${uuid()}","ts":"${ts}","event":"autosave.save.completed","duration_ms":"slow"}`
      : k === 1 ? `{"event_id":"${uuid()}","ts":"${ts}","event":"autosave.save.error"}`
      : k === 2 ? `{"event_id":"${uuid()}","ts":"${ts}","event":"autosave.save.completed","duration_ms":12`
      : `{"event_id":"${uuid()}","ts":"not-a-time","event":"autosave.save.completed","duration_ms":5}`;
  } else if (r < 0.006 && recent.length > 0) {
    line = recent[u32() % recent.length];
  } else {
    const id = uuid();
    const q = rnd();
    if (q < 0.02) line = `{"event_id":"${id}","ts":"${ts}","event":"autosave.save.error","retryable":${u32() % 3 !== 0},"error_code":"${errorCodes[u32() & 3]}"}`;
    else if (q < 0.0205) line = `{"event_id":"${id}","ts":"${ts}","event":"autosave.history.drift"}`;
    else if (q < 0.0235) line = `{"event_id":"${id}","ts":"${ts}","event":"autosave.editor.opened"}`;
    else {
      const ms = Math.round(Math.exp(Math.log(450) + 0.6 * gauss()) * 1000) / 1000;
      line = `{"event_id":"${id}","ts":"${ts}","event":"autosave.save.completed","duration_ms":${ms}}`;
    }
    if (recent.length < 4096) recent.push(line); else if ((u32() & 63) === 0) recent[u32() & 4095] = line;
  }
  buf.push(line, '\n');
  bytes += line.length + 1;
  if (bytes > 1 << 20) await flush();
}
await flush();
w.end();
await new Promise(r => w.on('finish', r));
